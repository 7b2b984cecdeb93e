import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarVfs } from '../../../shared/sources/tarfs.js';
import { MAX_META_BYTES, parseNumber, TarHeaderReader } from '../../../shared/tar/header.js';
import { decodeName, encodeName, escapeForDisplay } from '../../../shared/tar/names.js';
import { indexBuffer } from '../layers/helpers.js';
import { base256, file, hdr, pax, paxRecord, tar } from './build.js';

// Issue 15 item 1: every tar header field is validated once, in the one parser (tar/header.ts), and
// both readers (layer index: tarscan; archives read in place: tarfs) give the same answer: a bad entry
// is skipped and reported with its reason and offset, the entries after it are read as usual.

const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-tarhdr-'));
let n = 0;

/** What both readers make of a tar: the index's paths and problems, the archive's names and bad entries. */
async function both(t: Buffer) {
  const idx = await indexBuffer(t);
  const f = path.join(dir, `t${n++}.tar`);
  writeFileSync(f, t);
  const vfs = await TarVfs.open(f);
  const out = { paths: idx.paths, problems: idx.meta.problems, complete: idx.meta.complete, vfsNames: [...vfs.entries.keys()], vfsBad: vfs.problems };
  await vfs.close();
  return out;
}

describe('one tar header parser: a bad entry is skipped and reported, the rest is read', () => {
  const after = file('after', 'still here');
  const cases: [string, Buffer, RegExp][] = [
    ['a PAX size that is not a number (the endless-loop case)', pax({ size: 'lots' }), /size "lots" is not a number/],
    ['a PAX uid of 2^32 (would wrap to root)', pax({ uid: String(2 ** 32) }), /owner id 4294967296 is not a valid uid/],
    ['a PAX gid beyond 2^53', pax({ gid: '99999999999999999999' }), /gid .* is not a number/],
    ['a NUL in a PAX path', pax({ path: Buffer.from('evil\0name') }), /NUL byte/],
    ['a PAX mtime out of range', pax({ mtime: '99999999999999' }), /modification time 99999999999999 is out of range/],
    ['a PAX record whose length does not add up', pax(Buffer.from('99 path=short\n')), /malformed .*inconsistent length/],
    ['a PAX record without a key', pax(Buffer.concat([paxRecord('', 'x')])), /malformed .*no key/],
  ];
  for (const [what, meta, reason] of cases) {
    it(what, async () => {
      const t = tar(file('before', 'b'), meta, file('victim', 'v'), after);
      const r = await both(t);
      expect(r.paths).toEqual(['before', 'after']);
      expect(r.vfsNames).toEqual(['before', 'after']);
      expect(r.complete).toBe(true);
      const p = r.problems.find((x) => x.code === 'LAYER_TAR_INVALID')!;
      const name = what.includes('NUL') ? 'evil\0name' : 'victim';
      // The offset of the bad entry's first header (its PAX header), after "before" (2 blocks).
      expect(p.message.startsWith(`Entry "${name}" at byte 1024 was skipped: `)).toBe(true);
      expect(p.message).toMatch(reason);
      expect(r.vfsBad).toEqual([{ offset: 1024, name, reason: expect.stringMatching(reason) as unknown }]);
    });
  }

  it('base-256 uid/gid ≥ 2^32 and a negative base-256 mtime make the entry bad; base-256 sizes and small ids are read', async () => {
    const big = base256(2n ** 32n, 8);
    const neg = Buffer.alloc(12, 0xff); // -1 in two's complement
    const ok = hdr({ name: 'ok256', uid: base256(1000n, 8), size: 0 });
    const r = await both(tar(file('u', 'x', { uid: big }), file('g', 'x', { gid: big }), file('m', 'x', { mtime: neg }), ok, file('sz', 'data', {})));
    expect(r.paths).toEqual(['ok256', 'sz']);
    expect(r.problems.map((p) => p.message.replace(/ at byte \d+/, ''))).toEqual([
      'Entry "u" was skipped: its owner id 4294967296 is not a valid uid (0 to 4294967295).',
      'Entry "g" was skipped: its group id 4294967296 is not a valid gid (0 to 4294967295).',
      'Entry "m" was skipped: its modification time (unreadable) is out of range.',
    ]);
    const idx = await indexBuffer(tar(hdr({ name: 'ok256', uid: base256(1000n, 8) })));
    expect(idx.entry(0).uid).toBe(1000);
  });

  it('numbers: octal with spaces/NULs, base-256; garbage, trailing junk and negatives are not numbers', () => {
    const f = (s: string | Buffer) => parseNumber(Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'), 0, Buffer.isBuffer(s) ? s.length : s.length);
    expect(f('0000644\0')).toBe(0o644);
    expect(f('  644 \0')).toBe(0o644);
    expect(f('\0\0\0\0')).toBe(0);
    expect(f('0000x44\0')).toBeUndefined();
    expect(f('644 9\0\0\0')).toBeUndefined();
    expect(f(base256(2n ** 40n, 12))).toBe(2 ** 40);
    expect(f(Buffer.alloc(12, 0xff))).toBeUndefined();
    expect(f(base256(2n ** 60n, 12))).toBeUndefined(); // beyond 2^53
  });

  it('an unreadable size field or checksum is fatal (the next header cannot be found): entries before it are kept', async () => {
    const badSize = hdr({ name: 'x', size: Buffer.from('12ab\0\0\0\0\0\0\0\0') as unknown as number });
    const r = await indexBuffer(tar(file('a', 'A'), badSize));
    expect(r.paths).toEqual(['a']);
    expect(r.meta.complete).toBe(false);
    expect(r.meta.problems[0]!.message).toMatch(/unreadable size field/);
    const f = path.join(dir, 'badsize.tar');
    writeFileSync(f, tar(file('a', 'A'), badSize));
    await expect(TarVfs.open(f)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(/unreadable size field/) as unknown });
  });

  it('metadata is bounded: a PAX header over 1 MiB is skipped unread, its entry reported, memory stays flat', async () => {
    const body = Buffer.concat([paxRecord('path', 'p'.repeat(MAX_META_BYTES + 10))]);
    const t = tar(Buffer.concat([hdr({ name: 'PaxHeader', type: 'x', size: body.length }), body, Buffer.alloc((512 - (body.length % 512)) % 512)]), file('victim', 'v'), file('after', 'a'));
    const r = await both(t);
    expect(r.paths).toEqual(['after']);
    expect(r.problems[0]!.message).toMatch(/PAX header is \d+ bytes, more than the 1048576 allowed/);
  });

  it('a name over 16 KiB (GNU long name or PAX path) is refused with the start of the name, never kept whole', async () => {
    const long = 'n'.repeat(20_000);
    const t = tar(pax({ path: long }), file('x', 'x'), file('after', 'a'));
    const r = await both(t);
    expect(r.paths).toEqual(['after']);
    const m = r.problems[0]!.message;
    expect(m).toMatch(/its name is 20000 bytes long, more than the 16384 kept/);
    expect(m.length).toBeLessThan(500);
  });

  it('global PAX records give owner and time to later entries, never a path', async () => {
    const idx = await indexBuffer(tar(pax({ uid: '7', path: 'everything' }, 'g'), file('a', 'A'), file('b', 'B')));
    expect(idx.paths).toEqual(['a', 'b']);
    expect([idx.entry(0).uid, idx.entry(1).uid]).toEqual([7, 7]);
  });

  it('links, folders and devices carry no data whatever their size field says (as Go archive/tar): both readers agree', async () => {
    const t = tar(hdr({ name: 'd/', type: '5', size: 512 }), file('after', 'a'));
    const r = await both(t);
    expect(r.paths).toEqual(['d', 'after']);
    expect(r.vfsNames).toEqual(['d', 'after']);
  });

  it('the reader is a plain state machine: header() then meta() for kept bodies', () => {
    const rd = new TarHeaderReader();
    const body = paxRecord('uid', '5');
    const s1 = rd.header(hdr({ name: 'PaxHeader', type: 'x', size: body.length }), 0);
    expect(s1).toEqual({ kind: 'meta', size: body.length, keep: true });
    rd.meta(body);
    const s2 = rd.header(hdr({ name: 'f', size: 3 }), 1024);
    expect(s2).toMatchObject({ kind: 'entry', dataSize: 3, entry: { name: 'f', uid: 5, offset: 1536, headerOffset: 0 } });
    expect(rd.header(Buffer.alloc(512), 2048)).toEqual({ kind: 'end' });
  });
});

describe('names are bytes', () => {
  it('two names that differ only in invalid UTF-8 bytes stay two entries; a Latin-1 é is not a UTF-8 é', async () => {
    const a = Buffer.from([0x66, 0xff]);
    const b = Buffer.from([0x66, 0xfe]);
    const lat = Buffer.from('caf\xe9', 'latin1');
    const utf = Buffer.from('café');
    const idx = await indexBuffer(tar(file(a, '1'), file(b, '2'), file(lat, '3'), file(utf, '4')));
    expect(idx.count).toBe(4);
    expect(new Set(idx.paths).size).toBe(4);
    expect(idx.paths.map((p) => encodeName(p))).toEqual([a, b, lat, utf]);
    expect(idx.paths.map((p) => escapeForDisplay(p))).toEqual(['f\\xff', 'f\\xfe', 'caf\\xe9', 'café']);
  });

  it('decode/encode round-trip any bytes (overlongs, surrogates, truncated sequences, above U+10FFFF)', () => {
    // U+1F4C0 is the pair D83D DCC0: its low half is in the escape range but is no escaped byte.
    const disc = Buffer.from('\u{1F4C0}x');
    expect(encodeName(decodeName(disc))).toEqual(disc);
    expect(escapeForDisplay(decodeName(disc))).toBe('\u{1F4C0}x');
    const samples = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98, 0x80], [0x80], [0x2f, 0xff, 0x2f]];
    for (const s of samples) expect(encodeName(decodeName(Buffer.from(s)))).toEqual(Buffer.from(s));
    let seed = 1;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(1 + (i % 12));
      for (let k = 0; k < b.length; k++) b[k] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
      expect(encodeName(decodeName(b))).toEqual(b);
    }
  });

  it('display escapes controls (ESC, OSC, CR, LF, DEL, C1), raw bytes and bidi overrides; a backslash is doubled', () => {
    expect(escapeForDisplay('a\x1b]0;pwn\x07b')).toBe('a\\x1b]0;pwn\\x07b');
    expect(escapeForDisplay('line\nforged\r')).toBe('line\\nforged\\r');
    expect(escapeForDisplay('x\u009b\u007fy')).toBe('x\\x9b\\x7fy');
    expect(escapeForDisplay('evil\u202etxt.exe')).toBe('evil\\u202etxt.exe');
    expect(escapeForDisplay('a\\x1b')).toBe('a\\\\x1b');
    expect(escapeForDisplay('plain/日本')).toBe('plain/日本');
  });
});

describe('refused entries of an archive are shown on the source', () => {
  it('an OCI archive with a hostile extra entry opens; the skipped entry is a problem on the graph root', async () => {
    const { layoutOf } = await import('./build.js');
    const { readdirSync, readFileSync: read, statSync } = await import('node:fs');
    const { openSource } = await import('../../../shared/sources/open.js');
    const { buildGraph } = await import('../../../shared/graph/build.js');
    const layout = layoutOf([{ blob: tar(file('a', 'A')) }]);
    const parts: Buffer[] = [];
    const walk = (rel: string) => {
      for (const n of readdirSync(path.join(layout, rel))) {
        const r = rel ? `${rel}/${n}` : n;
        if (statSync(path.join(layout, r)).isDirectory()) walk(r);
        else parts.push(file(r, read(path.join(layout, r))));
      }
    };
    walk('');
    parts.push(pax({ uid: String(2 ** 33) }), file('junk', 'x'));
    const f = path.join(dir, 'archive.tar');
    writeFileSync(f, tar(...parts));
    const { source } = await openSource(`oci-archive:${f}`);
    try {
      const g = await buildGraph(source);
      const root = g.nodes.find((n) => n.digest === g.roots[0])!;
      expect(root.problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/^Archive entry "junk" at byte \d+ was skipped: its owner id 8589934592 is not a valid uid/));
      expect(g.nodes.some((n) => n.kind === 'layer')).toBe(true);
    } finally {
      await source.close();
    }
  });
});
