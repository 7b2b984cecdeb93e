import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildGraphContext } from '../../../shared/graph/build.js';
import { listImages } from '../../../shared/graph/select.js';
import { indexLayerStream } from '../../../shared/layers/indexer.js';
import { openSource } from '../../../shared/sources/open.js';
import { openVerified, readVerified } from '../../../shared/sources/verify.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { errorOf, readAll } from './streams.js';
import { tmpDir } from './tar-build.js';
import { sha256 } from './tar-facts.js';

// moby's tarsum testdata: old v1 image folders (`<id>/json` + `<id>/layer.tar`). Used here for what
// they are: the v1 JSON a pre-1.10 `docker save` holds (parent links between ids), and a real layer
// whose file carries a file capability in a PAX `SCHILY.xattr.security.capability` record.

const TARSUM = 'moby/daemon/builder/remotecontext/internal/tarsum/testdata';
const BASE = '511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c158'; // the old `scratch` base
const CHILD = '46af0962ab5afeb5ce6740d4d91652e69206fc991fd5328c1a94d364ad00e457';

interface V1Json {
  id: string;
  parent?: string;
  created: string;
  comment?: string;
  architecture?: string;
  os?: string;
  container_config?: { Cmd?: string[] | null };
}

const v1 = (folder: string): V1Json => JSON.parse(readFileSync(fx(`${TARSUM}/${folder}/json`), 'utf8')) as V1Json;

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

/** A pre-1.10 `docker save` folder (repositories + <id>/json + <id>/layer.tar) from fixture folders, in a temp dir. */
function pre110(name: string, tag: { repo: string; tag: string; id: string }, folders: string[]): string {
  const dir = path.join(tmp.dir, name);
  for (const f of folders) {
    mkdirSync(path.join(dir, f), { recursive: true });
    for (const file of ['json', 'layer.tar']) writeFileSync(path.join(dir, f, file), readFileSync(fx(`${TARSUM}/${f}/${file}`)));
  }
  writeFileSync(path.join(dir, 'repositories'), JSON.stringify({ [tag.repo]: { [tag.tag]: tag.id } }));
  return dir;
}

describe.skipIf(noSharedFixtures)('moby tarsum testdata: v1 image JSON', () => {
  it('each json names a 64-hex id (its folder name when the folder is named by id) and a parent id or none', () => {
    const folders = readdirSync(fx(TARSUM)).filter((f) => existsSync(fx(`${TARSUM}/${f}/json`))).sort();
    expect(folders).toEqual([CHILD, BASE, 'xattr']);
    for (const f of folders) {
      const j = v1(f);
      expect(j.id).toMatch(/^[a-f0-9]{64}$/);
      if (/^[a-f0-9]{64}$/.test(f)) expect(j.id).toBe(f);
      if (j.parent !== undefined) expect(j.parent).toMatch(/^[a-f0-9]{64}$/);
      expect(j.parent).not.toBe(j.id);
      expect(existsSync(fx(`${TARSUM}/${f}/layer.tar`))).toBe(true);
    }
    expect(v1(BASE).parent).toBeUndefined(); // a base layer: the chain ends here
    // The others are the top of chains whose parents are not in the folder.
    for (const f of [CHILD, 'xattr']) expect(folders).not.toContain(v1(f).parent);
    expect(v1('xattr').id).toBe('4439c3c7f847954100b42b267e7e5529cac1d6934db082f65795c5ca2e594d93');
  });

  it('the base image, saved the pre-1.10 way, is rebuilt into one image whose layer is its layer.tar', async () => {
    const j = v1(BASE);
    const dir = pre110('base', { repo: 'scratch', tag: 'latest', id: BASE }, [BASE]);
    const layerBytes = readFileSync(path.join(dir, BASE, 'layer.tar'));
    const { source } = await openSource(dir);
    try {
      expect(source.kind).toBe('docker-archive');
      const g = await buildGraphContext(source);
      const images = listImages(g.graph);
      expect(images).toHaveLength(1);
      expect(images[0]!.names).toEqual(['scratch:latest']);
      expect(images[0]!.layers).toEqual([sha256(layerBytes)]);
      const layer = g.descriptor(images[0]!.layers[0]!)!;
      expect(layer.size).toBe(layerBytes.length);
      await readAll(await openVerified(source, layer));

      const cfg = JSON.parse((await readVerified(source, g.descriptor(images[0]!.config)!)).toString('utf8')) as Record<string, unknown>;
      expect(cfg.rootfs).toEqual({ type: 'layers', diff_ids: [sha256(layerBytes)] });
      // history from the v1 JSON; the v1-only fields are gone.
      expect(cfg.history).toEqual([{ created: j.created, comment: j.comment }]);
      expect(cfg.architecture).toBe(j.architecture);
      for (const k of ['id', 'parent', 'Size']) expect(cfg).not.toHaveProperty(k);
      expect(g.node(images[0]!.config)!.verify).toBe('verified');
      // This 2013 JSON has no os (Docker then assumed linux); the rebuilt config keeps that, and says so.
      expect(j.os).toBeUndefined();
      expect(g.node(images[0]!.config)!.problems.map((p) => [p.code, p.path])).toEqual([['SCHEMA_INVALID', '/os']]);
      expect(g.node(images[0]!.manifest)!.verify).toBe('verified');
    } finally {
      await source.close();
    }
  });

  it('an image whose json names a parent that is not saved is ARCHIVE_INVALID naming that parent', async () => {
    const parent = v1(CHILD).parent!;
    const dir = pre110('orphan', { repo: 'old', tag: 'sudo', id: CHILD }, [CHILD]);
    const { source } = await openSource(dir);
    try {
      const err = await errorOf(source.roots());
      expect(err.code).toBe('ARCHIVE_INVALID');
      expect(err.message).toContain(parent.slice(0, 12));
      expect(err.message).toContain(`${parent}/json`);
    } finally {
      await source.close();
    }
  });
});

describe.skipIf(noSharedFixtures)('moby tarsum testdata: xattr/layer.tar', () => {
  const file = fx(`${TARSUM}/xattr/layer.tar`);

  /** The raw value of one PAX record, read straight from the tar bytes (independent of shared/layers). */
  function paxValue(tar: Buffer, key: string): Buffer {
    const at = tar.indexOf(`${key}=`);
    expect(at).toBeGreaterThan(0);
    let start = at;
    while (tar[start - 1] !== 0 && tar[start - 1] !== 0x0a && start > 0) start--; // back to "<len> "
    const len = Number(tar.toString('latin1', start, tar.indexOf(0x20, start)));
    return tar.subarray(at + key.length + 1, start + len - 1); // drop the trailing \n
  }

  it('indexing it records the security.capability xattr on `file`, bytes intact', async () => {
    const tar = readFileSync(file);
    const cap = paxValue(tar, 'SCHILY.xattr.security.capability');
    expect(cap.toString('hex')).toBe('01000002c0000000000000000000000000000000');
    // VFS_CAP_REVISION_2 with the effective flag; permitted = bits 6 and 7: CAP_SETGID, CAP_SETUID,
    // which is what the image's own build step ran.
    expect(cap.readUInt32LE(0)).toBe(0x02000001);
    expect(cap.readUInt32LE(4)).toBe((1 << 6) | (1 << 7));
    expect(v1('xattr').container_config?.Cmd?.join(' ')).toContain("setcap 'cap_setgid,cap_setuid+ep' ./file");

    const digest = sha256(tar);
    const idx = await indexLayerStream(createReadStream(file), { digest, diffId: digest, compressedSize: tar.length });
    expect(idx.meta).toMatchObject({ complete: true, problems: [], compression: 'none', diffId: digest });
    const entries = [...idx.entries()];
    expect(entries.map((e) => e.path)).toEqual(['file']);
    const e = entries[0]!;
    expect(e).toMatchObject({ type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0 });
    expect(Object.keys(e.xattrs ?? {})).toEqual(['security.capability']);
    // Values are kept as one char per byte (latin1): the 0xc0 and the NULs survive.
    expect(Buffer.from(e.xattrs!['security.capability']!, 'latin1').equals(cap)).toBe(true);
  });
});
