// Proves the built fixtures are what they claim, with the tools themselves (skopeo, umoci, tar, zstd,
// sha256sum): never with our core code. Also checks the fixture cache's rebuild rules.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { run, startDockerd, startRegistry } from '../helpers/tools.js';
import { FixtureCache } from '../fixtures/cache.js';
import type { AttestedFacts, ConvertedFacts, DockerBuiltFacts, EdgeFacts, MultiplatformFacts, RealisticFacts, ReferrerFacts, RootfsFacts } from '../fixtures/types.js';

const fixtures = inject('fixtures');
const json = async <T>(file: string) => JSON.parse(await readFile(file, 'utf8')) as T;
const skopeo = async (...args: string[]) => (await run('skopeo', args)).stdout;
const inspectRaw = async (ref: string) => JSON.parse(await skopeo('inspect', '--raw', ref)) as Record<string, unknown> & { manifests?: Desc[]; layers?: Desc[] };
/** `tar -tv` output as text, literal UTF-8 names, numeric owners. */
const tarTv = async (file: string) =>
  (await run('tar', ['--numeric-owner', '--quoting-style=literal', '-tvf', file], { env: { LC_ALL: 'C.UTF-8', TZ: 'UTC' } })).stdout;
const blob = (layout: string, digest: string) => path.join(layout, 'blobs', ...digest.split(':'));
const sha256sum = async (file: string) => 'sha256:' + ((await run('sha256sum', [file])).stdout.split(' ')[0] ?? '');

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string };
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** Oracle listing as a map path → [type, size, mode, uid, gid, link]. */
async function oracle(file: string): Promise<Map<string, string[]>> {
  const m = new Map<string, string[]>();
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line) continue;
    const [p = '', ...rest] = line.split('\t');
    m.set(p, rest);
  }
  return m;
}

/** Every blob file of a layout hashes to its name (sha256sum, not our code). */
async function expectBlobsIntact(layout: string) {
  const dir = path.join(layout, 'blobs/sha256');
  const names = await readdir(dir);
  const out = (await run('sha256sum', names, { cwd: dir })).stdout;
  for (const line of out.trim().split('\n')) {
    const [hash, name] = line.split(/\s+\*?/);
    expect(hash).toBe(name);
  }
  return names.length;
}

const tmpDirs: string[] = [];
const tmp = async () => {
  const d = await mkdtemp(path.join(os.tmpdir(), 'fixtures-test-'));
  tmpDirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

describe('rootfs (debootstrap minbase)', () => {
  it('is a Debian bookworm tree whose package list matches dpkg status', async () => {
    const facts = await json<RootfsFacts>(fixtures.rootfs.facts);
    const list = (await run('tar', ['-tf', fixtures.rootfs.tar])).stdout.split('\n').filter(Boolean);
    expect(list.length).toBe(facts.entries);
    expect(list.length).toBeGreaterThan(5000);
    const version = (await run('tar', ['-xOf', fixtures.rootfs.tar, './etc/debian_version'])).stdout;
    expect(version).toMatch(/^12\./);
    const status = (await run('tar', ['-xOf', fixtures.rootfs.tar, './var/lib/dpkg/status'])).stdout;
    const names = [...status.matchAll(/^Package: (.+)$/gm)].map((m) => m[1]);
    expect(facts.packages.map((p) => p.name).sort()).toEqual(names.sort());
    expect(names).toContain('dpkg');
  });
});

describe('realistic (umoci layers)', () => {
  const { layout, tag } = fixtures.realistic;
  const ref = `oci:${layout}:${tag}`;

  it('has ≥ 4 gzip layers whose blobs match their digests, and history with an empty_layer entry', async () => {
    const facts = await json<RealisticFacts>(fixtures.realistic.facts);
    const manifest = await inspectRaw(ref);
    const layers = manifest.layers ?? [];
    expect(layers.length).toBeGreaterThanOrEqual(4);
    expect(layers.map((l) => l.digest)).toEqual(facts.layers.map((l) => l.digest));
    for (const l of layers) {
      expect(l.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      expect(await sha256sum(blob(layout, l.digest))).toBe(l.digest);
    }
    expect(JSON.parse(await skopeo('inspect', ref)).Digest).toBe(facts.manifestDigest);
    const stat = JSON.parse((await run('umoci', ['stat', '--image', `${layout}:${tag}`, '--json'])).stdout) as { history: { empty_layer?: boolean; created_by?: string }[] };
    expect(stat.history.filter((h) => !h.empty_layer)).toHaveLength(layers.length);
    expect(stat.history.some((h) => h.empty_layer)).toBe(true);
    await expectBlobsIntact(layout);
  });

  it('layer tars hold every kind of entry: hard links, symlinks, setuid/setgid, sticky, long and UTF-8 names, empty file, FIFO, devices', async () => {
    const layers = (await inspectRaw(ref)).layers ?? [];
    const tv = await tarTv(blob(layout, layers[1]!.digest));
    expect(tv).toMatch(/^h\S+ .* opt\/app\/bin\/tool-hardlink link to opt\/app\/bin\/tool$/m);
    expect(tv).toMatch(/^l\S+ .* opt\/app\/current -> bin$/m);
    expect(tv).toMatch(/^l\S+ .* usr\/local\/bin\/tool -> \/opt\/app\/bin\/tool$/m);
    expect(tv).toMatch(/^-rwsr-xr-x .* opt\/app\/bin\/suid-helper$/m);
    expect(tv).toMatch(/^-rwxr-sr-x .* opt\/app\/bin\/sgid-helper$/m);
    expect(tv).toMatch(/^drwxrwxrwt .* opt\/app\/tmp\/$/m);
    expect(tv).toMatch(/^p\S+ .* opt\/app\/fifo$/m);
    expect(tv).toMatch(/^c\S+ .* 1,3 .* opt\/app\/null-dev$/m);
    expect(tv).toMatch(/^b\S+ .* 7,200 .* opt\/app\/loop-dev$/m);
    expect(tv).toMatch(/^-\S+ 0\/0 +0 .* opt\/app\/empty$/m);
    expect(tv).toContain('opt/app/i18n/héllo-wörld-日本語.txt');
    const long = tv.split('\n').map((l) => l.split(' ').pop() ?? '').filter((n) => Buffer.byteLength(n) > 100 && n.startsWith('opt/app/long/'));
    expect(long.some((n) => path.posix.basename(n).length > 100)).toBe(true);
  });

  it('has real whiteouts, content/mode/owner changes and an opaque directory marker', async () => {
    const layers = (await inspectRaw(ref)).layers ?? [];
    const tv2 = await tarTv(blob(layout, layers[2]!.digest));
    for (const wh of ['etc/.wh.motd', 'opt/app/.wh.remove-dir', 'opt/app/.wh.remove-me.txt', 'usr/share/doc/.wh.bash']) expect(tv2).toContain(wh);
    expect(tv2).toMatch(/^-rw------- 0\/0 .* opt\/app\/chmod-me$/m);
    expect(tv2).toMatch(/^-rw-r--r-- 1000\/1000 .* opt\/app\/chown-me$/m);
    expect(tv2).toMatch(/^h\S+ .* opt\/app\/hostname-hardlink link to etc\/hostname$/m);
    const tv3 = await tarTv(blob(layout, layers[3]!.digest));
    expect(tv3).toMatch(/ opt\/app\/plugins\/\.wh\.\.wh\.\.opq$/m);
    expect(tv3).toContain('opt/app/plugins/new-c');
  });

  it('merged by umoci (the oracle): what each step did is visible, whiteouts never are', async () => {
    const facts = await json<RealisticFacts>(fixtures.realistic.facts);
    const tree = await oracle(fixtures.oracle.realistic);
    for (const p of facts.expect.exist) expect(tree.has(p), `${p} should exist`).toBe(true);
    for (const p of facts.expect.absent) expect(tree.has(p), `${p} should be absent`).toBe(false);
    expect([...tree.keys()].filter((p) => path.posix.basename(p).startsWith('.wh.'))).toEqual([]);
    expect(tree.get('opt/app/bin/suid-helper')?.[2]).toBe('4755');
    expect(tree.get('opt/app/chmod-me')?.[2]).toBe('600');
    expect(tree.get('opt/app/chown-me')?.slice(3, 5)).toEqual(['1000', '1000']);
    expect(tree.get('opt/app/bin/tool-hardlink')?.[1]).toBe(tree.get('opt/app/bin/tool')?.[1]);
    expect(tree.get('opt/app/etc/config.ini')?.[1]).toBe(String('[main]\nmode=new\nextra=1\n'.length));
    expect(tree.get('opt/app/data.bin')?.[1]).toBe(String(1 << 19));
    expect(tree.get('opt/app/fifo')?.[0]).toBe('p');
    expect(tree.get('opt/app/current')?.[5]).toBe('bin');
    expect(tree.size).toBeGreaterThan(5000);
  });
});

describe('skopeo conversions of realistic', () => {
  it('OCI archive: same manifest digest, an OCI layout inside the tar', async () => {
    const facts = await json<RealisticFacts>(fixtures.realistic.facts);
    const file = fixtures.realisticOciArchive.file;
    const names = (await run('tar', ['-tf', file])).stdout.split('\n');
    expect(names).toEqual(expect.arrayContaining(['oci-layout', 'index.json', `blobs/sha256/${facts.manifestDigest.slice(7)}`]));
    expect(JSON.parse(await skopeo('inspect', `oci-archive:${file}`)).Digest).toBe(facts.manifestDigest);
  });

  it('docker-archive: manifest.json with the repo tag, uncompressed layers whose sha256 are the diff_ids', async () => {
    const facts = await json<RealisticFacts>(fixtures.realistic.facts);
    const file = fixtures.realisticDockerArchive.file;
    const manifest = JSON.parse((await run('tar', ['-xOf', file, 'manifest.json'])).stdout) as { RepoTags: string[]; Layers: string[] }[];
    expect(manifest).toHaveLength(1);
    expect(manifest[0]!.RepoTags).toEqual(['docker.io/library/realistic:latest']); // skopeo normalises the name
    expect(manifest[0]!.Layers).toHaveLength(facts.layers.length);
    const config = JSON.parse(await skopeo('inspect', '--config', `docker-archive:${file}`)) as { rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toEqual(facts.layers.map((l) => l.diffID));
    const dir = await tmp();
    const last = manifest[0]!.Layers.at(-1)!;
    await run('tar', ['-xf', file, '-C', dir, last]);
    expect(await sha256sum(path.join(dir, last))).toBe(facts.layers.at(-1)!.diffID);
  });

  it('zstd variant: every layer is zstd (magic bytes, zstd -t), same diff_ids and the same merged tree', async () => {
    const facts = await json<RealisticFacts>(fixtures.realistic.facts);
    const { layout, tag } = fixtures.realisticZstd;
    const layers = (await inspectRaw(`oci:${layout}:${tag}`)).layers ?? [];
    expect(layers).toHaveLength(facts.layers.length);
    for (const l of layers) {
      expect(l.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
      const magic = (await run('od', ['-An', '-tx1', '-N4', blob(layout, l.digest)])).stdout.trim();
      expect(magic).toBe('28 b5 2f fd');
      await run('zstd', ['-q', '-t', blob(layout, l.digest)]);
    }
    const config = JSON.parse(await skopeo('inspect', '--config', `oci:${layout}:${tag}`)) as { rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toEqual(facts.layers.map((l) => l.diffID));
    expect(await readFile(fixtures.oracle.realisticZstd, 'utf8')).toBe(await readFile(fixtures.oracle.realistic, 'utf8'));
  });
});

describe('more skopeo/compression variants of realistic', () => {
  it('zstd:chunked: TOC annotations, valid zstd; every layer but the GNU tar one decompresses to its diff_id', async () => {
    const facts = await json<ConvertedFacts>(fixtures.realisticZstdChunked.facts);
    const { layout, tag } = fixtures.realisticZstdChunked;
    const layers = (await inspectRaw(`oci:${layout}:${tag}`)).layers ?? [];
    const config = JSON.parse(await skopeo('inspect', '--config', `oci:${layout}:${tag}`)) as { rootfs: { diff_ids: string[] } };
    const mismatches: number[] = [];
    for (const [i, l] of layers.entries()) {
      expect(l.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
      expect(Object.keys(l.annotations ?? {})).toEqual(expect.arrayContaining(['io.containers.zstd-chunked.manifest-checksum', 'io.containers.zstd-chunked.manifest-position']));
      const sum = (await run('sh', ['-c', 'zstd -dc "$1" | sha256sum', 'sh', blob(layout, l.digest)])).stdout.split(' ')[0];
      if (`sha256:${sum}` !== config.rootfs.diff_ids[i]) mismatches.push(i);
    }
    expect(mismatches).toEqual(facts.diffIdMismatches);
    expect(mismatches).toEqual([layers.length - 1]);
  });

  it('OCI archive compressed whole (.tar.gz, .tar.zst) decompresses to the OCI archive', async () => {
    const c = fixtures.realisticOciArchiveCompressed;
    const inner = fixtures.realisticOciArchive.file;
    await run('sh', ['-c', 'gzip -dc "$1" | cmp - "$2"', 'sh', c.gz, inner]);
    await run('sh', ['-c', 'zstd -dc "$1" | cmp - "$2"', 'sh', c.zst, inner]);
    expect((await run('od', ['-An', '-tx1', '-N2', c.gz])).stdout.trim()).toBe('1f 8b');
  });
});

describe('multiplatform', () => {
  it('an image index with linux/amd64 and linux/arm64 that skopeo resolves per platform and copies whole', async () => {
    const facts = await json<MultiplatformFacts>(fixtures.multiplatform.facts);
    const { layout, tag } = fixtures.multiplatform;
    const ref = `oci:${layout}:${tag}`;
    const index = await inspectRaw(ref);
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(index.manifests?.map((m) => m.digest)).toEqual(facts.images.map((i) => i.manifestDigest));
    for (const arch of ['amd64', 'arm64']) {
      const cfg = JSON.parse(await skopeo('--override-os', 'linux', '--override-arch', arch, 'inspect', '--config', ref)) as { architecture: string };
      expect(cfg.architecture).toBe(arch);
    }
    const dest = await tmp();
    await run('skopeo', ['copy', '-q', '--all', ref, `oci:${dest}:copy`]);
    expect(await expectBlobsIntact(dest)).toBe(await expectBlobsIntact(layout));
  });
});

describe('attested (BuildKit attestation storage)', () => {
  it('index lists the image, then an unknown/unknown attestation manifest pointing at it', async () => {
    const facts = await json<AttestedFacts>(fixtures.attested.facts);
    const { layout, tag } = fixtures.attested;
    const index = await inspectRaw(`oci:${layout}:${tag}`);
    const [image, att] = index.manifests ?? [];
    expect(image?.platform).toEqual({ architecture: 'amd64', os: 'linux' });
    expect(att?.platform).toEqual({ architecture: 'unknown', os: 'unknown' });
    expect(att?.annotations).toEqual({ 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': image?.digest });
    expect(att?.digest).toBe(facts.attestation.manifestDigest);
    const manifest = await json<{ artifactType: string; config: Desc; layers: Desc[]; subject: Desc }>(blob(layout, att!.digest));
    expect(manifest.artifactType).toBe('application/vnd.docker.attestation.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
    expect(manifest.subject.digest).toBe(image?.digest);
    expect(manifest.layers.map((l) => l.annotations?.['in-toto.io/predicate-type'])).toEqual(['https://slsa.dev/provenance/v0.2', 'https://spdx.dev/Document']);
    for (const l of manifest.layers) {
      expect(l.mediaType).toBe('application/vnd.in-toto+json');
      const st = await json<{ _type: string; predicateType: string; subject: { digest: { sha256: string } }[]; predicate: Record<string, unknown> }>(blob(layout, l.digest));
      expect(st._type).toBe('https://in-toto.io/Statement/v1');
      expect(st.predicateType).toBe(l.annotations?.['in-toto.io/predicate-type']);
      expect(`sha256:${st.subject[0]?.digest.sha256}`).toBe(image?.digest);
    }
    const spdx = (await json<{ predicate: { packages: { name: string }[] } }>(blob(layout, manifest.layers[1]!.digest))).predicate.packages;
    const status = (await run('tar', ['-xOf', fixtures.rootfs.tar, './var/lib/dpkg/status'])).stdout;
    expect(spdx.map((p) => p.name).sort()).toEqual([...status.matchAll(/^Package: (.+)$/gm)].map((m) => m[1]).sort());
    await expectBlobsIntact(layout);
    const dest = await tmp();
    await run('skopeo', ['copy', '-q', '--all', `oci:${layout}:${tag}`, `oci:${dest}:copy`]);
  });
});

describe('referrer (OCI 1.1 subject + tag-schema fallback)', () => {
  it('referrers point at the image with subject and are listed under sha256-<hex> and cosign .sig tags', async () => {
    const facts = await json<ReferrerFacts>(fixtures.referrer.facts);
    const { layout, tag } = fixtures.referrer;
    const imageRaw = (await run('skopeo', ['inspect', '--raw', `oci:${layout}:${tag}`])).stdoutBytes;
    const imageDigest = 'sha256:' + (await run('sha256sum', [], { input: imageRaw })).stdout.split(' ')[0];
    expect(imageDigest).toBe(facts.image.manifestDigest);
    const fallbackTag = `sha256-${imageDigest.slice(7)}`;
    const fallback = await inspectRaw(`oci:${layout}:${fallbackTag}`);
    expect(fallback.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    const listed = fallback.manifests ?? [];
    expect(listed.map((d) => d.artifactType)).toEqual(['application/vnd.example.sbom.v1', 'application/vnd.dev.cosign.artifact.sig.v1+json']);
    for (const d of listed) {
      const m = await json<{ subject: Desc; artifactType: string; layers: Desc[] }>(blob(layout, d.digest));
      expect(m.subject).toEqual({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: imageDigest, size: imageRaw.length });
      expect(m.artifactType).toBe(d.artifactType);
    }
    const sig = await inspectRaw(`oci:${layout}:${fallbackTag}.sig`);
    const layer = sig.layers?.[0];
    expect(layer?.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    // The signature verifies with the public key beside the layout (openssl, not our code).
    const dir = await tmp();
    await writeFile(path.join(dir, 'sig'), Buffer.from(layer?.annotations?.['dev.cosignproject.cosign/signature'] ?? '', 'base64'));
    const pub = path.join(path.dirname(layout), 'cosign.pub');
    const verified = await run('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', path.join(dir, 'sig'), blob(layout, layer!.digest)]);
    expect(verified.stdout).toContain('Verified OK');
    const payload = await json<{ critical: { image: { 'docker-manifest-digest': string } } }>(blob(layout, layer!.digest));
    expect(payload.critical.image['docker-manifest-digest']).toBe(imageDigest);
    await expectBlobsIntact(layout);
  });
});

describe.skipIf(!fixtures.dockerBuilt)(`dockerd-built ${fixtures.dockerBuiltSkipped ? `(skipped: ${fixtures.dockerBuiltSkipped})` : ''}`, () => {
  it('a legacy docker save with one layer per RUN step; the tars and the merged tree show what each step did', async () => {
    const built = fixtures.dockerBuilt!;
    const facts = await json<DockerBuiltFacts>(built.facts);
    const manifest = JSON.parse((await run('tar', ['-xOf', built.file, 'manifest.json'])).stdout) as { RepoTags: string[]; Layers: string[] }[];
    expect(manifest[0]?.RepoTags).toEqual(['fixture/dockerd-built:latest']);
    const layers = manifest[0]!.Layers;
    expect(layers).toHaveLength(facts.expect.steps.length);
    expect(layers.every((l) => l.endsWith('/layer.tar'))).toBe(true);
    const dir = await tmp();
    await run('tar', ['-xf', built.file, '-C', dir, ...layers.slice(1)]);
    const tv = await Promise.all(layers.slice(1).map((l) => tarTv(path.join(dir, l))));
    expect(tv[0]).toMatch(/ srv\/app\/blob\.bin$/m);
    expect(tv[1]).toMatch(/ etc\/issue$/m);
    expect(tv[2]).toMatch(/^-rwsr-xr-x .* srv\/app\/hello\.txt$/m);
    expect(tv[3]).toMatch(/ etc\/\.wh\.motd$/m);
    expect(tv[3]).toMatch(/ srv\/app\/\.wh\.conf$/m);
    expect(tv[4]).toMatch(/^h.* link to /m);
    const issue = (await run('tar', ['-xOf', path.join(dir, layers[2]!), 'etc/issue'])).stdout;
    expect(issue).toContain('built by dockerd');
    const tree = await oracle(built.oracle);
    for (const p of facts.expect.exist) expect(tree.has(p), `${p} should exist`).toBe(true);
    for (const p of facts.expect.absent) expect(tree.has(p), `${p} should be absent`).toBe(false);
    expect(tree.get('srv/app/hello.txt')?.[2]).toBe('4755');
    expect(tree.get('etc/issue.net')?.[2]).toBe('600');
    const config = JSON.parse(await skopeo('inspect', '--config', `docker-archive:${built.file}`)) as { rootfs: { diff_ids: string[] }; history: { created_by?: string }[] };
    expect(config.rootfs.diff_ids).toEqual(facts.diffIDs);
    expect(config.history.map((h) => h.created_by ?? '').filter((c) => c.includes('/bin/sh -c'))).toEqual(facts.expect.steps.slice(1).map((s) => s.createdBy));
  });

  it('multi-image docker save: two manifest.json entries sharing the base layer through a symlinked layer.tar', async () => {
    const built = fixtures.dockerBuilt!;
    const manifest = JSON.parse((await run('tar', ['-xOf', built.multi, 'manifest.json'])).stdout) as { RepoTags: string[]; Layers: string[] }[];
    // docker save lists the images in no fixed order.
    expect(manifest.map((m) => m.RepoTags[0]).sort()).toEqual(['fixture/debian-minbase:bookworm', 'fixture/dockerd-built:latest']);
    const tv = await tarTv(built.multi);
    const links = [...tv.matchAll(/^l\S+ .* (\S+\/layer\.tar) -> \.\.\/(\S+\/layer\.tar)$/gm)].map((m) => [m[1], m[2]]);
    expect(links.length).toBeGreaterThanOrEqual(1);
    const bases = [manifest[0]!.Layers[0], manifest[1]!.Layers[0]];
    expect(links.some(([from, to]) => bases.includes(from) && bases.includes(to))).toBe(true);
  });
});

describe('edge (umoci: names, xattrs, type changes)', () => {
  it('layer tars hold a non-UTF-8 name, a 100-byte name, a path over 255 bytes, xattrs, and a whiteout under a new file', async () => {
    const facts = await json<EdgeFacts>(fixtures.edge.facts);
    const { layout, tag } = fixtures.edge;
    const layers = (await inspectRaw(`oci:${layout}:${tag}`)).layers ?? [];
    expect(layers).toHaveLength(2);
    const names0 = (await run('tar', ['--quoting-style=escape', '-tf', blob(layout, layers[0]!.digest)])).stdout.split('\n');
    expect(names0).toContain('names/bad-\\377-name');
    expect(names0.some((n) => path.posix.basename(n).length === 100)).toBe(true);
    expect(names0.some((n) => n.length > 255)).toBe(true);
    const xv = (await run('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', blob(layout, layers[0]!.digest)])).stdout;
    expect(xv).toMatch(/xattr\/file\n {2}x: 20 security\.capability\n {2}x: 11 user\.comment/);
    const tv1 = await tarTv(blob(layout, layers[1]!.digest));
    expect(tv1).toMatch(/^-\S+ .* type\/dir-to-file$/m);
    expect(tv1).toMatch(/ type\/dir-to-file\/\.wh\.child$/m);
    expect(tv1).toMatch(/^d\S+ .* type\/file-to-dir\/$/m);
    expect(facts.escapedNames[0]).toEqual(names0.filter(Boolean));
  });

  it('merged by umoci: types changed, the old directory children gone, the raw non-UTF-8 name kept, xattrs updated', async () => {
    const facts = await json<EdgeFacts>(fixtures.edge.facts);
    const raw = await readFile(fixtures.edge.oracle);
    expect(raw.includes(Buffer.from(facts.nonUtf8NameHex, 'hex'))).toBe(true);
    const tree = await oracle(fixtures.edge.oracle);
    for (const p of facts.expect.exist) expect(tree.has(p), `${p} should exist`).toBe(true);
    for (const p of facts.expect.absent) expect(tree.has(p), `${p} should be absent`).toBe(false);
    expect(tree.get('type/dir-to-file')?.[0]).toBe('f');
    expect(tree.get('type/file-to-dir')?.[0]).toBe('d');
    expect(tree.get('type/link-to-dir')?.[0]).toBe('d');
    expect(tree.get('zeros/10MiB')?.[1]).toBe(String(10 << 20));
    expect(Buffer.from(facts.xattrs['xattr/file']?.['user.comment'] ?? '', 'base64').toString()).toBe('changed');
  });
});

describe('fixture cache', () => {
  it('builds once, reuses, rebuilds on a version change or a rebuilt dependency, and leaves nothing from a failed build', async () => {
    const root = await tmp();
    let builds = 0;
    const make = (cache: FixtureCache, name: string, version: number, deps: string[] = []) =>
      cache.ensure(name, version, deps, async (out) => {
        builds++;
        await writeFile(path.join(out, 'x'), name);
      });
    let cache = new FixtureCache(root);
    await make(cache, 'a', 1);
    await make(cache, 'b', 1, ['a']);
    expect(builds).toBe(2);
    cache = new FixtureCache(root);
    await make(cache, 'a', 1);
    await make(cache, 'b', 1, ['a']);
    expect(builds).toBe(2);
    cache = new FixtureCache(root);
    await make(cache, 'a', 2);
    await make(cache, 'b', 1, ['a']);
    expect(builds).toBe(4);
    await expect(cache.ensure('c', 1, [], async (out) => {
      await writeFile(path.join(out, 'half'), '');
      throw new Error('killed');
    })).rejects.toThrow('killed');
    expect((await readdir(root)).sort()).toEqual(['a', 'a.stamp.json', 'b', 'b.stamp.json']);
  });
});

describe('test bench helpers (tools.ts)', () => {
  const INDEX = 'application/vnd.oci.image.index.v1+json';
  const push = (from: string, to: string, ...auth: string[]) =>
    run('skopeo', ['copy', '-q', '--all', '--dest-tls-verify=false', ...auth, from, to]);

  it('startRegistry: plain registry takes a skopeo push and serves the index by its digest', async () => {
    const facts = await json<MultiplatformFacts>(fixtures.multiplatform.facts);
    const reg = await startRegistry();
    try {
      await push(`oci:${fixtures.multiplatform.layout}:latest`, `docker://${reg.host}/mp:latest`);
      const res = await fetch(`${reg.url}/v2/mp/manifests/latest`, { headers: { accept: INDEX } });
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(facts.indexDigest);
    } finally {
      await reg.stop();
    }
    await expect(fetch(`${reg.url}/v2/`)).rejects.toThrow();
  });

  it('startRegistry: htpasswd (Basic) and silly (Bearer challenge) auth', async () => {
    const basic = await startRegistry({ auth: 'htpasswd' });
    try {
      expect((await fetch(`${basic.url}/v2/`)).headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      const auth = 'Basic ' + Buffer.from(`${basic.username}:${basic.password}`).toString('base64');
      expect((await fetch(`${basic.url}/v2/`, { headers: { authorization: auth } })).status).toBe(200);
      await expect(push(`oci:${fixtures.referrer.layout}:latest`, `docker://${basic.host}/r:latest`)).rejects.toThrow();
      await push(`oci:${fixtures.referrer.layout}:latest`, `docker://${basic.host}/r:latest`, '--dest-creds', `${basic.username}:${basic.password}`);
    } finally {
      await basic.stop();
    }
    const silly = await startRegistry({ auth: 'silly' });
    try {
      const res = await fetch(`${silly.url}/v2/`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${silly.tokenUrl}",service="test-registry"`);
      const token = (await (await fetch(`${silly.tokenUrl}?service=test-registry`)).json()) as { token: string };
      expect((await fetch(`${silly.url}/v2/`, { headers: { authorization: `Bearer ${token.token}` } })).status).toBe(200);
      expect(silly.tokenRequests).toHaveLength(1);
    } finally {
      await silly.stop();
    }
  });

  it('startRegistry: redirect middleware sends blob GETs to 127.0.0.2, which serves the stored bytes', async () => {
    const reg = await startRegistry({ redirect: true });
    try {
      await push(`oci:${fixtures.referrer.layout}:latest`, `docker://${reg.host}/r:latest`);
      const facts = await json<ReferrerFacts>(fixtures.referrer.facts);
      const manifest = await json<{ layers: Desc[] }>(blob(fixtures.referrer.layout, facts.image.manifestDigest));
      const layer = manifest.layers[0]!;
      const res = await fetch(`${reg.url}/v2/r/blobs/${layer.digest}`, { redirect: 'manual' });
      expect(res.status).toBe(307);
      const location = res.headers.get('location') ?? '';
      expect(location.startsWith(reg.redirectUrl!)).toBe(true);
      expect(new URL(location).hostname).toBe('127.0.0.2');
      const bytes = Buffer.from(await (await fetch(location)).arrayBuffer());
      expect(bytes.length).toBe(layer.size);
      expect(reg.redirectRequests.at(-1)?.headers.authorization).toBeUndefined();
    } finally {
      await reg.stop();
    }
  });

  it.skipIf(!fixtures.dockerBuilt)('startDockerd: a private daemon on a unix socket, stopped by pid', async () => {
    const d = await startDockerd();
    let stopped = false;
    try {
      const info = JSON.parse((await d.docker(['info', '--format', '{{json .}}'])).stdout) as { DockerRootDir: string };
      expect(info.DockerRootDir).toBe(d.dataRoot);
      await d.stop();
      stopped = true;
      expect(() => process.kill(d.pid, 0)).toThrow();
      expect(existsSync(path.dirname(d.socket)), 'temp folder (and its netns mount) removed').toBe(false);
    } finally {
      if (!stopped) await d.stop();
    }
  });
});
