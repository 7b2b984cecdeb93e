import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { buildDemo } from '../../../scripts/build-demo.js';

const COMMITTED = path.resolve(__dirname, '../../../resources/demo');

async function files(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, d.name);
    if (d.isDirectory()) out.push(...(await files(dir, r)));
    else out.push(r);
  }
  return out.sort();
}

async function tarNames(gz: Buffer): Promise<string[]> {
  const names: string[] = [];
  const x = extract();
  x.on('entry', (h, s, next) => {
    names.push(h.name);
    s.on('end', next);
    s.resume();
  });
  const done = new Promise<void>((r) => x.on('finish', () => r()));
  x.end(gunzipSync(gz));
  await done;
  return names;
}

describe('demo image', () => {
  it('rebuilds byte-identically to the committed resources/demo (deterministic, up to date)', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'oe-demo-'));
    await buildDemo(out);
    const a = await files(out);
    expect(a).toEqual(await files(COMMITTED));
    for (const f of a) expect((await readFile(path.join(out, f))).equals(await readFile(path.join(COMMITTED, f)))).toBe(true);
  });

  it('is small, every blob matches its name, and the layers hold a whiteout and an opaque marker', async () => {
    const all = await files(COMMITTED);
    let total = 0;
    const names: string[] = [];
    for (const f of all) {
      const b = await readFile(path.join(COMMITTED, f));
      total += (await stat(path.join(COMMITTED, f))).size;
      if (f.startsWith('blobs/sha256/')) {
        expect(createHash('sha256').update(b).digest('hex')).toBe(path.basename(f));
        if (b[0] === 0x1f && b[1] === 0x8b) names.push(...(await tarNames(b)));
      }
    }
    expect(total).toBeLessThan(100 * 1024);
    expect(names).toContain('var/cache/.wh.apk-index.txt');
    expect(names).toContain('usr/share/doc/.wh..wh..opq');
    const layout = JSON.parse(await readFile(path.join(COMMITTED, 'oci-layout'), 'utf8')) as { imageLayoutVersion: string };
    expect(layout.imageLayoutVersion).toBe('1.0.0');
  });
});
