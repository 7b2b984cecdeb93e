import type { Database, SqlJsStatic } from 'sql.js';

// SQLite through sql.js (SQLite compiled to WebAssembly): no native module, so the same code runs in
// Node 20, in Electron's utility process and in any Node without a rebuild (better-sqlite3 is native:
// a build per Electron ABI, and its v12 needs Node ≥ 20.x with prebuilds per platform). The build with
// the wasm inlined is used, so the bundled desktop app (no node_modules) needs no .wasm file beside
// it; it is loaded on first use only. A database is read whole into wasm memory: callers bound its size.

let engine: Promise<SqlJsStatic> | undefined;

export function sqlite(): Promise<SqlJsStatic> {
  engine ??= import('sql.js/dist/sql-wasm-inline.js').then((m) => m.default());
  return engine;
}

/**
 * A database file's bytes with its write-ahead log applied (the committed frames whose salts and
 * checksums chain from the log header, as SQLite's recovery reads them). rpm leaves rpmdb.sqlite-wal
 * beside the database; images keep whatever was not checkpointed. Returns the bytes to open and how
 * many frames were applied.
 */
export function applyWal(db: Buffer, wal: Buffer | undefined): { bytes: Buffer; frames: number } {
  let out = Buffer.from(db);
  let applied = 0;
  if (wal && wal.length >= 32) {
    const magic = wal.readUInt32BE(0);
    if (magic === 0x377f0682 || magic === 0x377f0683) {
      const bigEndianSums = magic === 0x377f0683;
      const pageSize = wal.readUInt32BE(8) === 1 ? 65536 : wal.readUInt32BE(8);
      const salt1 = wal.readUInt32BE(16);
      const salt2 = wal.readUInt32BE(20);
      let [s0, s1] = checksum(wal.subarray(0, 24), 0, 0, bigEndianSums);
      if (s0 === wal.readUInt32BE(24) && s1 === wal.readUInt32BE(28) && pageSize >= 512 && (pageSize & (pageSize - 1)) === 0) {
        const pages = new Map<number, Buffer>();
        let committed = new Map<number, Buffer>();
        let dbPages = 0;
        for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
          const h = wal.subarray(off, off + 24);
          if (h.readUInt32BE(8) !== salt1 || h.readUInt32BE(12) !== salt2) break;
          const page = wal.subarray(off + 24, off + 24 + pageSize);
          [s0, s1] = checksum(h.subarray(0, 8), s0, s1, bigEndianSums);
          [s0, s1] = checksum(page, s0, s1, bigEndianSums);
          if (s0 !== h.readUInt32BE(16) || s1 !== h.readUInt32BE(20)) break;
          pages.set(h.readUInt32BE(0), page);
          const commitSize = h.readUInt32BE(4);
          if (commitSize) {
            committed = new Map(pages);
            dbPages = commitSize;
          }
        }
        if (committed.size) {
          const size = dbPages * pageSize;
          const grown = Buffer.alloc(Math.max(size, 0));
          out.copy(grown, 0, 0, Math.min(out.length, size));
          out = grown;
          for (const [no, page] of committed) if ((no - 1) * pageSize < size) page.copy(out, (no - 1) * pageSize);
          applied = committed.size;
        }
      }
    }
  }
  // Open as a rollback-journal database: the log is already in, and sql.js has no shared memory for WAL.
  if (out.length >= 20 && out[18] === 2) {
    out[18] = 1;
    out[19] = 1;
  }
  return { bytes: out, frames: applied };
}

/** SQLite's WAL checksum over 8-byte words (two uint32 in the log's byte order). */
function checksum(b: Buffer, s0: number, s1: number, bigEndian: boolean): [number, number] {
  for (let i = 0; i + 8 <= b.length; i += 8) {
    const x0 = bigEndian ? b.readUInt32BE(i) : b.readUInt32LE(i);
    const x1 = bigEndian ? b.readUInt32BE(i + 4) : b.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

/** Opens a database from bytes (with its WAL applied); close it when done. */
export async function openSqlite(db: Buffer, wal?: Buffer): Promise<{ db: Database; walFrames: number }> {
  const SQL = await sqlite();
  const { bytes, frames } = applyWal(db, wal);
  return { db: new SQL.Database(bytes), walFrames: frames };
}
