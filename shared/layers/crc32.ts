import * as zlib from 'node:zlib';

// Content hash for "modified": crc32 runs at memory speed in zlib (Node >= 20.15, Electron); the JS
// table fallback gives identical values, so persisted indexes stay valid across runtimes.
let table: Uint32Array | undefined;
function jsCrc32(data: Uint8Array, crc = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const native = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
export const crc32: (data: Uint8Array, value?: number) => number = native ? (d, v = 0) => native(d, v) : jsCrc32;
export { jsCrc32 };
