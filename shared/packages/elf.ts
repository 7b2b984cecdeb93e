// Just enough ELF to find a Go binary's build info, as debug/buildinfo does: the `.go.buildinfo`
// section (or, with no section headers, the first writable non-executable PT_LOAD segment), 64 KiB
// of it searched for the 16-byte-aligned magic, then the two strings decoded. Reads are few and
// bounded (header, program and section headers, section names, 64 KiB): never the whole binary.

export const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

export type ReadAt = (start: number, length: number) => Promise<Buffer>;

const SEARCH_BYTES = 64 * 1024;
const MAX_PHNUM = 512;
const MAX_SHNUM = 4096;
const MAX_STRING = 1024 * 1024;

interface Elf {
  is64: boolean;
  le: boolean;
  progs: { type: number; flags: number; offset: number; vaddr: number; filesz: number }[];
}

function reader(b: Buffer, le: boolean, is64: boolean) {
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  return { u16, u32, addr: (o: number) => (is64 ? u64(o) : u32(o)) };
}

/** Maps a virtual address to a file offset through the program headers (as elfExe.ReadData). */
function fileOffset(elf: Elf, addr: number): { offset: number; avail: number } | undefined {
  for (const p of elf.progs) {
    if (p.vaddr <= addr && addr <= p.vaddr + p.filesz - 1) return { offset: p.offset + (addr - p.vaddr), avail: p.vaddr + p.filesz - addr };
  }
  return undefined;
}

/**
 * Finds and decodes the build info of an ELF file: undefined when it is not ELF or not a Go binary,
 * `{error}` when the blob is there but broken.
 */
export async function locateBuildInfo(readAt: ReadAt): Promise<{ version: string; mod: string } | { error: string } | undefined> {
  const h = await readAt(0, 64);
  if (h.length < 52 || h.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = h[4] === 2;
  const le = h[5] === 1;
  if ((h[4] !== 1 && !is64) || (h[5] !== 1 && h[5] !== 2) || (is64 && h.length < 64)) return undefined;
  const r = reader(h, le, is64);
  const phoff = r.addr(is64 ? 0x20 : 0x1c);
  const shoff = r.addr(is64 ? 0x28 : 0x20);
  const phentsize = r.u16(is64 ? 0x36 : 0x2a);
  const phnum = Math.min(r.u16(is64 ? 0x38 : 0x2c), MAX_PHNUM);
  const shentsize = r.u16(is64 ? 0x3a : 0x2e);
  const shnum = Math.min(r.u16(is64 ? 0x3c : 0x30), MAX_SHNUM);
  const shstrndx = r.u16(is64 ? 0x3e : 0x32);
  const [ph, sh] = await Promise.all([
    phoff && phnum && phentsize >= (is64 ? 56 : 32) ? readAt(phoff, phnum * phentsize) : Buffer.alloc(0),
    shoff && shnum && shentsize >= (is64 ? 64 : 40) ? readAt(shoff, shnum * shentsize) : Buffer.alloc(0),
  ]);
  const elf: Elf = { is64, le, progs: [] };
  const pr = reader(ph, le, is64);
  for (let i = 0; (i + 1) * phentsize <= ph.length; i++) {
    const o = i * phentsize;
    elf.progs.push(
      is64
        ? { type: pr.u32(o), flags: pr.u32(o + 4), offset: pr.addr(o + 8), vaddr: pr.addr(o + 16), filesz: pr.addr(o + 32) }
        : { type: pr.u32(o), offset: pr.addr(o + 4), vaddr: pr.addr(o + 8), filesz: pr.addr(o + 16), flags: pr.u32(o + 24) },
    );
  }
  let data: Buffer | undefined;
  const sections = sh.length >= shentsize && shentsize ? Math.floor(sh.length / shentsize) : 0;
  if (sections) {
    const sr = reader(sh, le, is64);
    const sec = (i: number) => {
      const o = i * shentsize;
      return is64
        ? { name: sr.u32(o), type: sr.u32(o + 4), offset: sr.addr(o + 24), size: sr.addr(o + 32) }
        : { name: sr.u32(o), type: sr.u32(o + 4), offset: sr.addr(o + 16), size: sr.addr(o + 20) };
    };
    if (shstrndx >= sections) return undefined;
    const strtab = sec(shstrndx);
    const names = await readAt(strtab.offset, Math.min(strtab.size, SEARCH_BYTES));
    const want = Buffer.from('.go.buildinfo\0', 'latin1');
    for (let i = 0; i < sections; i++) {
      const s = sec(i);
      if (s.name + want.length > names.length || !names.subarray(s.name, s.name + want.length).equals(want)) continue;
      if (s.type === 8 /* SHT_NOBITS */) return undefined;
      data = await readAt(s.offset, Math.min(s.size, SEARCH_BYTES));
      break;
    }
    if (!data) return undefined; // an ELF with sections but no .go.buildinfo: not a Go binary
  } else {
    const load = elf.progs.find((p) => p.type === 1 && (p.flags & 3) === 2); // PT_LOAD, PF_W without PF_X
    if (!load) return undefined;
    data = await readAt(load.offset, Math.min(load.filesz, SEARCH_BYTES));
  }
  return decodeBlob(data, elf, readAt);
}

/** The 32-byte header at a 16-byte-aligned magic, then the version and module strings. */
async function decodeBlob(data: Buffer, elf: Elf, readAt: ReadAt): Promise<{ version: string; mod: string } | { error: string } | undefined> {
  let i = -1;
  for (let from = 0; ; from = i + 1) {
    i = data.indexOf(BUILDINFO_MAGIC, from);
    if (i < 0 || data.length - i < 32) return undefined;
    if (i % 16 === 0) break;
  }
  const blob = data.subarray(i);
  const ptrSize = blob[14]!;
  const flags = blob[15]!;
  let version: Buffer;
  let mod: Buffer;
  if (flags & 2) {
    const v = uvarintBytes(blob, 32);
    if (!v) return { error: 'the version string runs past the section' };
    version = v.b;
    mod = uvarintBytes(blob, v.next)?.b ?? Buffer.alloc(0);
  } else {
    if (ptrSize !== 4 && ptrSize !== 8) return { error: `pointer size ${ptrSize}` };
    const le = (flags & 1) === 0;
    const ptr = (b: Buffer, o: number) => (ptrSize === 4 ? (le ? b.readUInt32LE(o) : b.readUInt32BE(o)) : Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)));
    const none = Buffer.alloc(0);
    const goString = async (addr: number): Promise<Buffer> => {
      const at = fileOffset(elf, addr);
      if (!at || at.avail < 2 * ptrSize) return none;
      const hdr = await readAt(at.offset, 2 * ptrSize);
      if (hdr.length < 2 * ptrSize) return none;
      const dataAddr = ptr(hdr, 0);
      const len = ptr(hdr, ptrSize);
      const d = fileOffset(elf, dataAddr);
      if (!d || len > MAX_STRING || len > d.avail) return none;
      const s = await readAt(d.offset, len);
      return s.length === len ? s : none;
    };
    [version, mod] = await Promise.all([goString(ptr(blob, 16)), goString(ptr(blob, 16 + ptrSize))]);
  }
  if (!version.length) return { error: 'no Go version in the build info' };
  // The module info is framed by 16-byte binary sentinels (cmd/go's infoStart/infoEnd); without them it is empty.
  const framed = mod.length >= 33 && mod[mod.length - 17] === 0x0a;
  return { version: version.toString('utf8'), mod: framed ? mod.toString('utf8', 16, mod.length - 16) : '' };
}

function uvarintBytes(b: Buffer, off: number): { b: Buffer; next: number } | undefined {
  let n = 0;
  let shift = 0;
  let p = off;
  for (; p < b.length && shift < 35; p++, shift += 7) {
    const c = b[p]!;
    n += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) {
      p++;
      if (p + n > b.length) return undefined;
      return { b: b.subarray(p, p + n), next: p + n };
    }
  }
  return undefined;
}
