import { describe, expect, it } from 'vitest';
import { locateBuildInfo, type ReadAt } from '../../../shared/packages/elf.js';

// Synthetic ELF64 files holding Go build info in both layouts debug/buildinfo reads: Go ≥ 1.18
// (strings inline after the 32-byte header, in a .go.buildinfo section) and older Go (pointers to
// Go string headers, found through the program headers; here with no section headers at all, so the
// first writable PT_LOAD is searched). A real Go binary is tested in test/integration/packages.test.ts.

const INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const MOD = 'path\texample.com/x\nmod\texample.com/x\tv1.2.3\th1:x=\ndep\tgolang.org/x/text\tv0.14.0\th1:y=\n';
const VADDR = 0x400000;

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** An ELF64 LE file of `size` bytes with one writable PT_LOAD at `dataOff` holding `data`, and optional sections. */
function elf(size: number, dataOff: number, data: Buffer, withSections: boolean): Buffer {
  const f = Buffer.alloc(size);
  f.writeUInt32BE(0x7f454c46, 0);
  f[4] = 2;
  f[5] = 1;
  f[6] = 1;
  f.writeUInt16LE(2, 16); // ET_EXEC
  f.writeUInt16LE(62, 18); // x86-64
  f.writeBigUInt64LE(64n, 0x20); // e_phoff
  f.writeUInt16LE(56, 0x36);
  f.writeUInt16LE(1, 0x38);
  f.writeUInt16LE(64, 0x3a);
  // Program header: PT_LOAD, PF_R|PF_W, the data at dataOff mapped at VADDR + dataOff.
  f.writeUInt32LE(1, 64);
  f.writeUInt32LE(6, 68);
  f.writeBigUInt64LE(BigInt(dataOff), 72);
  f.writeBigUInt64LE(BigInt(VADDR + dataOff), 80);
  f.writeBigUInt64LE(BigInt(data.length), 96);
  f.writeBigUInt64LE(BigInt(data.length), 104);
  data.copy(f, dataOff);
  if (withSections) {
    const names = Buffer.from('\0.go.buildinfo\0.shstrtab\0', 'latin1');
    const strOff = dataOff + data.length + 16;
    names.copy(f, strOff);
    const shoff = strOff + names.length + 8 - ((strOff + names.length) % 8);
    f.writeBigUInt64LE(BigInt(shoff), 0x28);
    f.writeUInt16LE(3, 0x3c);
    f.writeUInt16LE(2, 0x3e);
    const sec = (i: number, name: number, type: number, addr: number, off: number, sz: number) => {
      const o = shoff + i * 64;
      f.writeUInt32LE(name, o);
      f.writeUInt32LE(type, o + 4);
      f.writeBigUInt64LE(BigInt(addr), o + 16);
      f.writeBigUInt64LE(BigInt(off), o + 24);
      f.writeBigUInt64LE(BigInt(sz), o + 32);
    };
    sec(1, 1, 1, VADDR + dataOff, dataOff, data.length);
    sec(2, 15, 3, 0, strOff, names.length);
  }
  return f;
}

function reader(file: Buffer): { readAt: ReadAt; bytes: () => number; calls: () => number } {
  let bytes = 0;
  let calls = 0;
  return {
    readAt: async (start, length) => {
      calls++;
      const b = file.subarray(start, Math.min(file.length, start + length));
      bytes += b.length;
      return b;
    },
    bytes: () => bytes,
    calls: () => calls,
  };
}

function inlineBlob(version: string, mod: string): Buffer {
  const h = Buffer.alloc(32);
  MAGIC.copy(h);
  h[14] = 8;
  h[15] = 2;
  const m = Buffer.concat([INFO_START, Buffer.from(mod), INFO_END]);
  return Buffer.concat([h, uvarint(version.length), Buffer.from(version), uvarint(m.length), m]);
}

describe('Go build info in ELF', () => {
  it('Go ≥ 1.18: the .go.buildinfo section, strings inline; a 4 MiB binary costs a few small reads', async () => {
    // Something that looks like the magic but is not 16-byte aligned comes first, as the scan must skip it.
    const decoy = Buffer.concat([Buffer.alloc(3), MAGIC, Buffer.alloc(15)]);
    const data = Buffer.concat([decoy, Buffer.alloc(16 - (decoy.length % 16)), inlineBlob('go1.21.5', MOD)]);
    const f = elf(4 * 1024 * 1024, 3 * 1024 * 1024, data, true);
    const r = reader(f);
    expect(await locateBuildInfo(r.readAt)).toEqual({ version: 'go1.21.5', mod: MOD });
    expect(r.bytes()).toBeLessThan(64 * 1024);
    expect(r.calls()).toBeLessThanOrEqual(5);
  });

  it('older Go: pointers to string headers, found through the program headers (no section headers)', async () => {
    const dataOff = 0x2000;
    const base = VADDR + dataOff;
    const version = Buffer.from('go1.16.15');
    const mod = Buffer.concat([INFO_START, Buffer.from(MOD), INFO_END]);
    // Layout inside the segment: [0] header, [32] two string headers, [64] version bytes, then mod bytes.
    const d = Buffer.alloc(64 + version.length + mod.length);
    MAGIC.copy(d);
    d[14] = 8;
    d[15] = 0;
    d.writeBigUInt64LE(BigInt(base + 32), 16);
    d.writeBigUInt64LE(BigInt(base + 48), 24);
    d.writeBigUInt64LE(BigInt(base + 64), 32);
    d.writeBigUInt64LE(BigInt(version.length), 40);
    d.writeBigUInt64LE(BigInt(base + 64 + version.length), 48);
    d.writeBigUInt64LE(BigInt(mod.length), 56);
    version.copy(d, 64);
    mod.copy(d, 64 + version.length);
    const f = elf(64 * 1024, dataOff, d, false);
    expect(await locateBuildInfo(reader(f).readAt)).toEqual({ version: 'go1.16.15', mod: MOD });
  });

  it('not ELF, ELF without the section, no module framing, a broken version: undefined or an error, never a throw', async () => {
    expect(await locateBuildInfo(reader(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(200))).readAt)).toBeUndefined();
    // The same bytes with the section renamed (a C binary's .data): not read as Go.
    const blob = inlineBlob('go1.21', MOD);
    const plain = elf(8192, 4096, blob, true);
    expect(await locateBuildInfo(reader(plain).readAt)).toEqual({ version: 'go1.21', mod: MOD });
    plain.write('.data\0\0\0\0\0\0\0\0', 4096 + blob.length + 16 + 1, 'latin1');
    expect(await locateBuildInfo(reader(plain).readAt)).toBeUndefined();
    const unframed = inlineBlob('go1.20', 'x');
    const noFrame = Buffer.concat([unframed.subarray(0, 32), uvarint(6), Buffer.from('go1.20'), uvarint(3), Buffer.from('abc')]);
    expect(await locateBuildInfo(reader(elf(8192, 4096, noFrame, true)).readAt)).toEqual({ version: 'go1.20', mod: '' });
    const broken = Buffer.concat([unframed.subarray(0, 32), uvarint(500), Buffer.from('go')]);
    expect(await locateBuildInfo(reader(elf(8192, 4096, broken, true)).readAt)).toEqual({ error: 'the version string runs past the section' });
    const truncated = elf(4096, 1024, inlineBlob('go1.21', MOD), true).subarray(0, 40);
    expect(await locateBuildInfo(reader(truncated).readAt)).toBeUndefined();
  });
});
