// pako's zlib port, file by file (CommonJS, no types of its own for these): typed where used, in pako.ts.
declare module 'pako/lib/zlib/inflate.js' {
  const inflate: unknown;
  export default inflate;
}
declare module 'pako/lib/zlib/zstream.js' {
  const ZStream: unknown;
  export default ZStream;
}
