// sql.js's build with the WebAssembly inlined (base64 in the JS): same API as 'sql.js'.
declare module 'sql.js/dist/sql-wasm-inline.js' {
  import initSqlJs from 'sql.js';
  export default initSqlJs;
}
