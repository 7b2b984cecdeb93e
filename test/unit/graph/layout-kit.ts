import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildGraphContext, type GraphContext } from '../../../shared/graph/build.js';
import { OciLayoutSource } from '../../../shared/sources/oci-layout.js';
import { DirVfs } from '../../../shared/sources/vfs.js';

// Hand-made OCI layouts in a temp folder, for inputs no real tool would write (tampered, looping).

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  [k: string]: unknown;
}

export class Kit {
  readonly dir: string;
  constructor(from?: string) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'graph-kit-'));
    if (from) cpSync(from, this.dir, { recursive: true });
    else {
      mkdirSync(path.join(this.dir, 'blobs/sha256'), { recursive: true });
      writeFileSync(path.join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    }
  }

  blobPath(digest: string): string {
    return path.join(this.dir, 'blobs', digest.replace(':', '/'));
  }

  /** Writes a blob under its true digest (or under `as` to make a mismatch on purpose). */
  put(content: Buffer | string | object, mediaType: string, as?: string, extra: Record<string, unknown> = {}): Desc {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(typeof content === 'string' ? content : JSON.stringify(content));
    const digest = as ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(this.blobPath(digest), bytes);
    return { mediaType, digest, size: bytes.length, ...extra };
  }

  index(manifests: unknown[]): void {
    writeFileSync(path.join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  }

  /** A small valid image: config with `layers` diff_ids/history, one layer blob per entry. */
  image(opts: { layers?: string[]; history?: { empty_layer?: boolean; created_by?: string }[]; arch?: string; extra?: Record<string, unknown> } = {}): { manifest: Desc; config: Desc; layers: Desc[] } {
    const layers = (opts.layers ?? ['layer-a']).map((s) => this.put(s, 'application/vnd.oci.image.layer.v1.tar'));
    const cfg: Record<string, unknown> = { architecture: opts.arch ?? 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } };
    if (opts.history) cfg.history = opts.history;
    const config = this.put(cfg, 'application/vnd.oci.image.config.v1+json');
    const manifest = this.put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers, ...opts.extra }, 'application/vnd.oci.image.manifest.v1+json');
    return { manifest, config, layers };
  }

  async graph(signal?: AbortSignal): Promise<GraphContext> {
    const opts = signal ? { signal } : {};
    return buildGraphContext(new OciLayoutSource(new DirVfs(this.dir), this.dir), opts);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const codes = (ctx: GraphContext, digest: string): string[] => (ctx.node(digest)?.problems ?? []).map((p) => p.code);
