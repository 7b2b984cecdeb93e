import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openImage } from '../../shared/layers/open-image.js';
import { buildGraph } from '../../shared/graph/build.js';
import { openSource } from '../../shared/sources/open.js';
import { run } from '../helpers/tools.js';

// The backend seam proved with a new backend in one file: skopeo's `dir:` transport, read from what
// `skopeo copy … dir:DIR` really writes, must show the same image as the OCI layout it was copied from.

const fixtures = inject('fixtures');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'oe-dir-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cacheDir = path.join(tmp, 'cache');

async function listing(spec: string): Promise<string[]> {
  const { image, close } = await openImage(spec, {}, { cacheDir, workers: 0 });
  try {
    expect(image.layers.layers.every((l) => l.state === 'ready' && l.problems.length === 0)).toBe(true);
    const t = image.layers.mergedTree();
    return [...t.walk()].map((p) => {
      const e = t.get(p)!;
      return `${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.size} ${p} ${e.linkname ?? ''}`;
    });
  } finally {
    await close();
  }
}

describe('skopeo dir: transport', () => {
  it('an image copied with skopeo into dir: shows the same graph digests and merged tree as its OCI layout', async () => {
    const src = `oci:${fixtures.realistic.layout}:${fixtures.realistic.tag}`;
    const dir = path.join(tmp, 'realistic');
    await run('skopeo', ['copy', '-q', src, `dir:${dir}`]);
    const { source } = await openSource(`dir:${dir}`);
    expect(source.kind).toBe('dir');
    const g = await buildGraph(source);
    await source.close();
    expect(g.nodes.flatMap((n) => n.problems)).toEqual([]);
    expect(g.nodes.map((n) => n.kind).sort()).toEqual(['config', ...Array(g.nodes.length - 2).fill('layer'), 'manifest'].sort());
    // Detected without the prefix too, and the merged tree equals the source layout's.
    expect(await listing(dir)).toEqual(await listing(src));
  });

  it('with --all: the index in manifest.json and each instance in <hex>.manifest.json', async () => {
    const dir = path.join(tmp, 'multi');
    await run('skopeo', ['copy', '-q', '--all', `oci:${fixtures.multiplatform.layout}`, `dir:${dir}`]);
    const { source } = await openSource(dir);
    const g = await buildGraph(source);
    await source.close();
    expect(g.nodes.flatMap((n) => n.problems)).toEqual([]);
    expect(g.nodes.filter((n) => n.kind === 'manifest').length).toBeGreaterThanOrEqual(2);
    expect(g.nodes.find((n) => n.digest === g.roots[0])!.kind).toBe('index');
  });

  it('a folder that only claims to be one is refused with what it lacks; a missing blob is BLOB_MISSING on its node', async () => {
    const fake = path.join(tmp, 'fake');
    await run('skopeo', ['copy', '-q', `oci:${fixtures.realistic.layout}:${fixtures.realistic.tag}`, `dir:${fake}`]);
    writeFileSync(path.join(fake, 'version'), 'not a version\n');
    await expect(openSource(`dir:${fake}`)).rejects.toMatchObject({ code: 'SOURCE_UNRECOGNISED' });
    writeFileSync(path.join(fake, 'version'), 'Directory Transport Version: 1.1\n');
    const manifest = JSON.parse((await import('node:fs')).readFileSync(path.join(fake, 'manifest.json'), 'utf8')) as { config: { digest: string } };
    rmSync(path.join(fake, manifest.config.digest.slice(7)));
    const { source } = await openSource(`dir:${fake}`);
    const g = await buildGraph(source);
    await source.close();
    expect(g.nodes.find((n) => n.digest === manifest.config.digest)).toMatchObject({ verify: 'missing' });
  });
});
