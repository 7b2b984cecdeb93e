import type { BlobProgress } from '../../registry/fetcher.js';
import { humanBytes, shortDigest } from '../../ui/format.js';
import type { CliIO } from '../io.js';

// Live per-blob progress of a pull on a terminal (bytes, speed), redrawn in place at most 5 times a
// second; nothing at all when standard error is not a terminal (scripts, CI logs).

interface Row {
  p: BlobProgress;
  startedAt: number;
  startBytes: number;
}

export class PullProgressView {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly io: CliIO) {}

  get enabled(): boolean {
    return this.io.stderrIsTTY === true;
  }

  update = (p: BlobProgress): void => {
    if (!this.enabled) return;
    const row = this.rows.get(p.digest);
    if (row) row.p = p;
    else this.rows.set(p.digest, { p, startedAt: Date.now(), startBytes: p.done });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 200);
  };

  private line(r: Row): string {
    const { p } = r;
    const secs = (Date.now() - r.startedAt) / 1000;
    const speed = secs > 0.2 && p.state === 'downloading' ? `  ${humanBytes((p.done - r.startBytes) / secs)}/s` : '';
    const state = p.state === 'present' ? 'already here' : p.state === 'resuming' ? 'resuming' : p.state === 'done' ? 'verified' : '';
    return `${shortDigest(p.digest)}  ${humanBytes(p.done).padStart(8)} / ${humanBytes(p.total).padEnd(8)}${speed}  ${state}`.trimEnd();
  }

  draw(): void {
    if (!this.enabled) return;
    const lines = [...this.rows.values()].map((r) => this.line(r));
    const up = this.drawn ? `\x1b[${this.drawn}A` : '';
    this.io.stderr(up + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawn = lines.length;
  }

  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }
}
