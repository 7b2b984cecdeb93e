import { describe, expect, it } from 'vitest';
import { lineOfPointer, splitDigests } from '../../../shared/ui/json-digests.js';
import { decodeStatement, dockerfileLine, readConfig } from '../../../shared/ui/image-docs.js';
import { flattenRows, groupByParent } from '../../../shared/ui/tree-rows.js';
import { hexRow, imageType, looksLikeText } from '../../../shared/ui/hex.js';
import type { TreeEntry } from '../../../shared/api/contract.js';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + 'a'.repeat(64);

describe('splitDigests', () => {
  it('finds every digest and keeps the text around it byte for byte', () => {
    const text = JSON.stringify({ config: { digest: D1 }, layers: [{ digest: D2 }], note: 'sha256:short' }, null, 2);
    const pieces = splitDigests(text);
    expect(pieces.map((p) => p.text).join('')).toBe(text);
    expect(pieces.filter((p) => p.digest).map((p) => p.digest)).toEqual([D1, D2]);
  });
});

describe('lineOfPointer', () => {
  const doc = { schemaVersion: 2, config: { mediaType: 'x', digest: D1 }, layers: [{ digest: D1 }, { digest: D2, size: 'big' }] };
  const lines = JSON.stringify(doc, null, 2).split('\n');
  it('points at the line holding the field', () => {
    expect(lines[lineOfPointer(doc, '/layers/1/size')]).toContain('"size": "big"');
    expect(lines[lineOfPointer(doc, '/config/digest')]).toContain(D1);
    expect(lines[lineOfPointer(doc, '/schemaVersion')]).toContain('"schemaVersion"');
  });
  it('a missing field points at its parent; the root is line 0', () => {
    const l = lineOfPointer(doc, '/layers/0/mediaType');
    expect(lines[l]!.trim()).toBe('{');
    expect(lines[l + 1]).toContain(D1);
    expect(lineOfPointer(doc, '')).toBe(0);
    expect(lineOfPointer(doc, '/nothing/here')).toBe(0);
  });
});

describe('readConfig and dockerfileLine', () => {
  it('reads the fields people look at and ignores odd shapes', () => {
    const c = readConfig({
      os: 'linux',
      architecture: 'amd64',
      config: { Env: ['PATH=/bin', 3], Entrypoint: ['/bin/sh', '-c'], Cmd: null, WorkingDir: '/app', User: '1000:1000', ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b', n: 1 } },
      rootfs: { diff_ids: [D1] },
    });
    expect(c.env).toEqual(['PATH=/bin']);
    expect(c.entrypoint).toEqual(['/bin/sh', '-c']);
    expect(c.cmd).toBeUndefined();
    expect(c.workingDir).toBe('/app');
    expect(c.user).toBe('1000:1000');
    expect(c.exposedPorts).toEqual(['80/tcp']);
    expect(c.labels).toEqual([['a', 'b'], ['n', '1']]);
    expect(c.diffIds).toEqual([D1]);
    expect(readConfig('nonsense').env).toEqual([]);
    expect(readConfig(null).labels).toEqual([]);
  });
  it('strips the shell noise docker records', () => {
    expect(dockerfileLine('/bin/sh -c #(nop)  CMD ["sh"]')).toBe('CMD ["sh"]');
    expect(dockerfileLine('/bin/sh -c mkdir -p /x')).toBe('RUN mkdir -p /x');
    expect(dockerfileLine('RUN /bin/sh -c apt-get update # buildkit')).toBe('RUN /bin/sh -c apt-get update');
    expect(dockerfileLine(undefined)).toBe('(no command recorded)');
  });
});

describe('decodeStatement', () => {
  const slsa = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: [{ name: 'pkg:docker/app', digest: { sha256: '1'.repeat(64) } }],
    predicate: { builder: { id: 'https://github.com/moby/buildkit' }, buildType: 'https://mobyproject.org/buildkit@v1', materials: [{ uri: 'pkg:docker/debian', digest: { sha256: 'a'.repeat(64) } }] },
  };
  it('SLSA v0.2: builder and materials', () => {
    const s = decodeStatement(slsa)!;
    expect(s.subjects).toEqual([{ name: 'pkg:docker/app', digests: [D1] }]);
    expect(s.slsa?.builder).toBe('https://github.com/moby/buildkit');
    expect(s.slsa?.materials).toEqual([{ uri: 'pkg:docker/debian', digests: [D2] }]);
  });
  it('SLSA v1 and a DSSE envelope', () => {
    const v1 = { ...slsa, predicateType: 'https://slsa.dev/provenance/v1', predicate: { runDetails: { builder: { id: 'B' } }, buildDefinition: { buildType: 'T', resolvedDependencies: [{ uri: 'git+x' }] } } };
    const env = { payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(JSON.stringify(v1)).toString('base64') };
    const s = decodeStatement(env, (b) => Buffer.from(b, 'base64').toString('utf8'))!;
    expect(s.slsa).toEqual({ builder: 'B', buildType: 'T', materials: [{ uri: 'git+x', digests: [] }] });
  });
  it('SPDX packages with versions and purls; non-statements are undefined', () => {
    const s = decodeStatement({ predicateType: 'https://spdx.dev/Document', subject: [], predicate: { spdxVersion: 'SPDX-2.3', packages: [{ name: 'bash', versionInfo: '5.2', externalRefs: [{ referenceType: 'purl', referenceLocator: 'pkg:deb/debian/bash@5.2' }] }, { name: 'x' }] } })!;
    expect(s.spdx?.packages).toEqual([{ name: 'bash', version: '5.2', purl: 'pkg:deb/debian/bash@5.2' }, { name: 'x' }]);
    expect(decodeStatement({ hello: 1 })).toBeUndefined();
    expect(decodeStatement([1, 2])).toBeUndefined();
    expect(decodeStatement({ payload: '!!!' }, () => 'not json')).toBeUndefined();
  });
});

const entry = (p: string, type: TreeEntry['type'] = 'file', size = 0): TreeEntry => ({ path: p, name: p.slice(p.lastIndexOf('/') + 1), type, size, mode: 0o644, uid: 0, gid: 0, layer: 0 });

describe('tree rows', () => {
  const children = new Map<string, TreeEntry[]>([
    ['/', [entry('/a', 'dir'), entry('/b', 'dir'), entry('/z')]],
    ['/a', [entry('/a/x'), entry('/a/y', 'dir')]],
  ]);
  it('lists expanded folders depth-first and marks folders still loading', () => {
    const rows = flattenRows(children, new Set(['/a', '/a/y']));
    expect(rows.map((r) => `${r.depth}:${r.entry.path}${r.loading ? '…' : ''}`)).toEqual(['0:/a', '1:/a/x', '1:/a/y…', '0:/b', '0:/z']);
    expect(flattenRows(children, new Set()).length).toBe(3);
  });
  it('stays linear on a 100k-row tree', () => {
    const big = new Map<string, TreeEntry[]>([['/', []]]);
    const open = new Set<string>();
    for (let d = 0; d < 100; d++) {
      const dir = `/d${d}`;
      big.get('/')!.push(entry(dir, 'dir'));
      big.set(dir, Array.from({ length: 1000 }, (_, i) => entry(`${dir}/f${i}`)));
      open.add(dir);
    }
    expect(flattenRows(big, open).length).toBe(100_100);
  });
  it('groups a flat path-ordered list by parent, keeping its order', () => {
    const g = groupByParent([entry('/', 'dir'), entry('/a', 'dir'), entry('/a/c', 'file', 9), entry('/a/b', 'file', 5), entry('/d')]);
    expect([...g.keys()]).toEqual(['/', '/a']);
    expect(g.get('/a')!.map((e) => e.name)).toEqual(['c', 'b']);
  });
});

describe('hex and content sniffing', () => {
  it('hex rows match od/xxd layout', () => {
    const bytes = new TextEncoder().encode('Hello, world!\x00\x01\xff and more');
    const r = hexRow(bytes, 0, 16);
    expect(r.offset).toBe('00000000');
    expect(r.hex).toBe('48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 00 01 c3');
    expect(r.ascii).toBe('Hello, world!...');
    expect(hexRow(bytes, 16, 16, 0x100).offset).toBe('00000110');
  });
  it('tells text from binary and recognises images by magic', () => {
    expect(looksLikeText(new TextEncoder().encode('#!/bin/sh\necho hi\n'))).toBe(true);
    expect(looksLikeText(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1]))).toBe(false);
    expect(imageType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d]), 'x')).toBe('image/png');
    expect(imageType(new Uint8Array([1, 2, 3]), 'logo.svg')).toBe('image/svg+xml');
    expect(imageType(new Uint8Array([1, 2, 3]), 'x.bin')).toBeUndefined();
  });
});
