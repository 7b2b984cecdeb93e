import { createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import { ExplorerError } from '../errors.js';
import { createDigester, parseDigest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import { digestMismatch, sizeMismatch } from '../sources/verify.js';

// How a blob lands in an OCI layout (store/layout.ts): written to a temp file while hashed, renamed
// into blobs/ only when size and digest match, removed otherwise.

/**
 * One blob being written: hashed as it goes; renamed into blobs/ only when size and digest match.
 * Writes go through a write stream (the thread pool: a slow disk never blocks this thread); `bytes`
 * counts what the temp file holds, so a reader in this process can follow it as it grows (`changed`).
 */
export class Ingest {
  private readonly hash;
  private readonly out: WriteStream;
  private seen = 0;
  private flushed = 0;
  private waiters: (() => void)[] = [];
  private failed?: Error;
  /** Set when the ingest ends: committed, or the error that ended it. */
  outcome?: 'committed' | Error;

  constructor(
    readonly desc: Descriptor,
    readonly tmp: string,
    readonly dest: string,
  ) {
    this.hash = createDigester(parseDigest(desc.digest).algorithm);
    this.out = createWriteStream(tmp, { flags: 'wx', highWaterMark: 4 << 20 });
    this.out.on('error', (e) => {
      this.failed ??= e;
      this.notify();
    });
  }

  /** Bytes in the temp file so far (written, not only queued). */
  get bytes(): number {
    return this.flushed;
  }

  /** Resolves at the next completed write or when the ingest ends. */
  changed(): Promise<void> {
    return this.outcome ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  /** Appends a chunk (SIZE_MISMATCH past the descriptor's size); waits only when the disk is behind by more than the write buffer. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.outcome) throw this.outcome instanceof Error ? this.outcome : new Error('ingest committed');
    if (this.seen + chunk.length > this.desc.size) throw sizeMismatch(this.desc, this.seen + chunk.length, true);
    this.seen += chunk.length;
    this.hash.update(chunk);
    const more = this.out.write(chunk, (e) => {
      if (e) return;
      this.flushed += chunk.length;
      this.notify();
    });
    if (!more) await this.drained();
    if (this.failed) throw this.failed;
  }

  private drained(): Promise<void> {
    return new Promise<void>((r) => {
      const done = () => {
        this.out.off('drain', done).off('error', done);
        r();
      };
      this.out.on('drain', done).on('error', done);
    });
  }

  /** Verifies and renames into place; throws SIZE_MISMATCH / DIGEST_MISMATCH (the caller then aborts). */
  async commit(): Promise<void> {
    await this.close();
    if (this.failed) throw this.end(this.failed);
    if (this.seen !== this.desc.size) throw this.end(sizeMismatch(this.desc, this.seen, false));
    const actual = `${parseDigest(this.desc.digest).algorithm}:${this.hash.digest('hex')}`;
    if (actual !== this.desc.digest) throw this.end(digestMismatch(this.desc, actual));
    await fsp.rename(this.tmp, this.dest);
    this.outcome = 'committed';
    this.notify();
  }

  /** Drops the temp file unless committed (safe to call always, e.g. in finally). */
  async abort(reason?: Error): Promise<void> {
    if (this.outcome === 'committed') return;
    this.end(reason ?? new ExplorerError('CANCELLED', 'The download was cancelled.'));
    await this.close().catch(() => {});
    await fsp.rm(this.tmp, { force: true });
  }

  private end(e: Error): Error {
    this.outcome ??= e;
    this.notify();
    return e;
  }

  private close(): Promise<void> {
    if (this.out.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.out.end(() => resolve());
      this.out.once('error', () => resolve());
    });
  }
}
