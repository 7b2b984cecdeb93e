import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope, ExtractProgressEvent, ExtractResult, ImageRef, ImageSummary, OperationEvent, SerializedError } from '../../../shared/api/contract.js';
import { defaultCore } from '../../../shared/api/core.js';
import { createHandlerTable, type HandlerTable } from '../../../shared/api/handlers.js';
import { throttleProgress } from '../../../shared/util/throttle.js';

// Extract progress through the handler table: an OCI layout built here with a few thousand files in
// three layers, so the engine reports many times (every 256 files and after each layer). The API's
// throttle is set to 0 ms so the count of events does not depend on how fast this machine is; the
// throttle itself is tested with a fake clock.

const LAYERS = 3;
const FILES_PER_LAYER = 1200;

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
let t: HandlerTable;
let image: ImageRef;
let expectedBytes = 0;
let tmp: string;
const events: EventEnvelope[] = [];

async function tar(entries: { name: string; body?: Buffer }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const end = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    const dir = e.name.endsWith('/');
    const header = { name: e.name, type: dir ? ('directory' as const) : ('file' as const), mode: dir ? 0o755 : 0o644, mtime: new Date(1_600_000_000_000) };
    await new Promise<void>((resolve, reject) => pack.entry(header, e.body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await end;
  return Buffer.concat(chunks);
}

async function blob(layout: string, mediaType: string, bytes: Buffer) {
  const hex = sha(bytes);
  await writeFile(path.join(layout, 'blobs/sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/** An OCI layout with LAYERS layers of FILES_PER_LAYER files (1–3 KiB each; later layers overwrite some). */
async function buildImage(layout: string): Promise<void> {
  await mkdir(path.join(layout, 'blobs/sha256'), { recursive: true });
  await writeFile(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layers = [];
  const diffIds: string[] = [];
  const final = new Map<string, number>();
  for (let l = 0; l < LAYERS; l++) {
    const entries: { name: string; body?: Buffer }[] = [{ name: `d${l}/` }, { name: 'shared/' }];
    for (let i = 0; i < FILES_PER_LAYER; i++) {
      const size = 1024 + ((i * 37 + l * 101) % 2048);
      // Every tenth file lives in a folder all layers write to: upper layers replace it.
      const name = i % 10 === 0 ? `shared/f${i}` : `d${l}/f${i}`;
      entries.push({ name, body: Buffer.alloc(size, (i + l) % 251) });
      final.set(name, size);
    }
    const raw = await tar(entries);
    diffIds.push(`sha256:${sha(raw)}`);
    layers.push(await blob(layout, 'application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(raw)));
  }
  expectedBytes = [...final.values()].reduce((a, b) => a + b, 0);
  const config = await blob(
    layout,
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, history: diffIds.map((_, i) => ({ created_by: `layer ${i}` })) })),
  );
  const manifest = await blob(layout, 'application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers })));
  await writeFile(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...manifest, platform: { os: 'linux', architecture: 'amd64' } }] }));
}

async function call<T>(m: string, a: unknown): Promise<T> {
  const r = await t.dispatch(m, a);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value as T;
}

const progressOf = (opId: string) => events.filter((e) => e.event === 'extract-progress' && (e.payload as ExtractProgressEvent).opId === opId).map((e) => e.payload as ExtractProgressEvent);
const operationsOf = (opId: string) => events.filter((e) => e.event === 'operation' && (e.payload as OperationEvent).opId === opId).map((e) => e.payload as OperationEvent);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'oe-xprog-'));
  const layout = path.join(tmp, 'layout');
  await buildImage(layout);
  const core = defaultCore({ cacheDir: path.join(tmp, 'cache'), workers: 0, extractProgressMs: 0 });
  t = createHandlerTable({ core, mode: 'web', appVersion: 'test' });
  t.subscribe((e) => events.push(e));
  const h = await call<{ id: string }>('openSource', { spec: layout });
  image = (await call<ImageSummary>('selectImage', { sourceId: h.id })).ref;
});
afterAll(() => t.close());

describe('extract progress', () => {
  it('reports rising byte counts under the caller\'s opId with consistent totals, and a final event equal to the result', async () => {
    const target = path.join(tmp, 'out-full');
    const r = await call<ExtractResult>('extract', { image, target, opId: 'op-full' });
    expect(r.bytes).toBe(expectedBytes);
    const p = progressOf('op-full');
    expect(p.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < p.length; i++) {
      expect(p[i]!.bytes).toBeGreaterThan(p[i - 1]!.bytes);
      expect(p[i]!.files).toBeGreaterThan(p[i - 1]!.files);
    }
    expect(new Set(p.map((x) => x.totalBytes))).toEqual(new Set([expectedBytes]));
    expect(p.every((x) => x.bytes <= x.totalBytes!)).toBe(true);
    expect(p.at(-1)).toMatchObject({ bytes: expectedBytes, totalBytes: expectedBytes });
    expect(operationsOf('op-full').map((o) => o.state)).toEqual(['running', 'done']);
    // Spot check the output.
    expect((await readFile(path.join(target, 'd0/f1'))).length).toBe(1024 + 37);
  });

  it('keeps reports at least the throttle interval apart, always sending the final one', () => {
    let clock = 0;
    const sent: number[] = [];
    const th = throttleProgress((n: number) => sent.push(n), 100, () => clock);
    for (let n = 1; n <= 30; n++) {
      th.push(n);
      clock += 15;
    }
    th.final(31);
    // Pushed at 0, 15, 30, …: the first at once, then the first at or after each 100 ms.
    expect(sent).toEqual([1, 8, 15, 22, 29, 31]);
    const again: number[] = [];
    const th2 = throttleProgress((n: number) => again.push(n), 100, () => 0);
    th2.push(7);
    th2.final(7);
    expect(again).toEqual([7]);
  });

  for (const existing of [true, false]) {
    it(`a cancel mid-extract gives CANCELLED, an operation event "cancelled", and leaves nothing in the ${existing ? 'chosen (existing)' : 'new'} folder`, async () => {
      const target = path.join(tmp, `out-cancel-${existing}`);
      if (existing) await mkdir(target);
      const opId = `op-cancel-${existing}`;
      let cancel: Promise<unknown> | undefined;
      const off = t.subscribe((e) => {
        if (!cancel && e.event === 'extract-progress' && (e.payload as ExtractProgressEvent).opId === opId) cancel = t.dispatch('cancel', { opId });
      });
      const r = await t.dispatch('extract', { image, target, opId });
      off();
      expect(r.ok).toBe(false);
      expect((r as { error: SerializedError }).error.code).toBe('CANCELLED');
      expect(await cancel).toEqual({ ok: true, value: { cancelled: true } });
      const p = progressOf(opId);
      expect(p.length).toBeGreaterThanOrEqual(1);
      expect(p.at(-1)!.bytes).toBeLessThan(expectedBytes);
      const ops = operationsOf(opId);
      expect(ops.map((o) => o.state)).toEqual(['running', 'cancelled']);
      expect(ops[1]!.error?.code).toBe('CANCELLED');
      if (existing) expect(await readdir(target)).toEqual([]);
      else expect(existsSync(target)).toBe(false);
    });
  }
});
