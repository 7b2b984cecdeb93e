import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// Facts about fixtures read independently of shared/: plain fs or the system `tar`, JSON.parse and
// node:crypto. The graph tests compare what buildGraph says against these.

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Reader {
  read(rel: string): Buffer | undefined;
  /** Size of a regular member, undefined when absent or not a regular file (a symlink). */
  size(rel: string): number | undefined;
}

export function dirReader(dir: string): Reader {
  return {
    read: (rel) => (existsSync(path.join(dir, rel)) ? readFileSync(path.join(dir, rel)) : undefined),
    size: (rel) => (existsSync(path.join(dir, rel)) ? statSync(path.join(dir, rel)).size : undefined),
  };
}

export function tarReader(file: string): Reader {
  const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const sizes = new Map<string, number>();
  for (const line of listing) {
    // -rw-r--r-- 0/0   10240 1970-01-01 00:00 name
    const m = /^(\S)\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
    if (m && m[1] === '-') sizes.set(m[3]!.replace(/^\.\//, ''), Number(m[2]));
  }
  return {
    read: (rel) => {
      if (!sizes.has(rel)) return undefined;
      return execFileSync('tar', ['-xOf', file, rel], { maxBuffer: 64 * 1024 * 1024 });
    },
    size: (rel) => sizes.get(rel),
  };
}

export const readerFor = (p: string): Reader => (statSync(p).isDirectory() ? dirReader(p) : tarReader(p));

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface LayoutFacts {
  indexDigest: string;
  /** Every index/manifest document reachable from index.json (or named as a subject), by digest. */
  docs: Map<string, { desc: Desc; doc: Record<string, unknown> | undefined }>;
  configs: Map<string, Desc>;
  layers: Map<string, Desc>;
  /** (parent digest, position) pairs of index entries, config and layer references. */
  manifestRefs: number;
  configRefs: number;
  layerRefs: number;
}

const blob = (r: Reader, d: string): Buffer | undefined => r.read(`blobs/${d.replace(':', '/')}`);

/** Walks an OCI layout (folder or tar) from index.json with nothing but JSON.parse. */
export function layoutFacts(r: Reader): LayoutFacts {
  const indexBytes = r.read('index.json');
  if (!indexBytes) throw new Error('no index.json');
  const f: LayoutFacts = { indexDigest: sha256(indexBytes), docs: new Map(), configs: new Map(), layers: new Map(), manifestRefs: 0, configRefs: 0, layerRefs: 0 };
  const walkDoc = (doc: Record<string, unknown>): void => {
    if (Array.isArray(doc.manifests)) {
      for (const e of doc.manifests as Desc[]) {
        f.manifestRefs++;
        visit(e);
      }
    }
    if (doc.config) {
      f.configRefs++;
      const c = doc.config as Desc;
      if (!f.configs.has(c.digest)) f.configs.set(c.digest, c);
      for (const l of (doc.layers ?? []) as Desc[]) {
        f.layerRefs++;
        if (!f.layers.has(l.digest)) f.layers.set(l.digest, l);
      }
    }
    if (doc.subject) visit(doc.subject as Desc);
  };
  const visit = (d: Desc): void => {
    if (f.docs.has(d.digest)) return;
    const b = blob(r, d.digest);
    const doc = b ? (JSON.parse(b.toString('utf8')) as Record<string, unknown>) : undefined;
    f.docs.set(d.digest, { desc: d, doc });
    if (doc) walkDoc(doc);
  };
  walkDoc(JSON.parse(indexBytes.toString('utf8')) as Record<string, unknown>);
  return f;
}

export interface DockerSaveEntry {
  configFile: string;
  configDigest: string;
  config: { rootfs: { diff_ids: string[] }; os: string; architecture: string };
  /** LayerSources: diff_id → the distributable descriptor whose bytes docker save leaves out. */
  layerSources: Record<string, { digest: string; size: number; mediaType: string }>;
  repoTags: string[];
  layers: string[];
}

/** manifest.json of a docker save archive, with config digests hashed from the files. */
export function dockerSaveFacts(r: Reader): DockerSaveEntry[] {
  const m = JSON.parse(r.read('manifest.json')!.toString('utf8')) as { Config: string; RepoTags: string[] | null; Layers: string[]; LayerSources?: DockerSaveEntry['layerSources'] }[];
  return m.map((e) => {
    const bytes = r.read(e.Config)!;
    return { configFile: e.Config, configDigest: sha256(bytes), config: JSON.parse(bytes.toString('utf8')) as DockerSaveEntry['config'], layerSources: e.LayerSources ?? {}, repoTags: e.RepoTags ?? [], layers: e.Layers };
  });
}
