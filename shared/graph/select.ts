import { ExplorerError } from '../errors.js';
import { shortDigest, type Digest } from '../oci/digest.js';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches, type Platform } from '../oci/platform.js';
import type { GraphNode, ImageEntry, ImageGraph } from './types.js';

// Picking the one image a command acts on (issue 2, item 5): `oci:PATH:TAG` / `docker-archive:PATH:REPO:TAG`
// (a name), `--image <digest>` and `--platform os/arch[/variant]`; with several candidates and no
// choice the host platform decides when that settles it, else the error lists the choices.

export interface ImageChoice {
  /** Manifest, config (image ID) or index digest; `sha256:` may be left out and a unique prefix is enough. */
  digest?: string;
  /** `os/arch[/variant]` or a parsed platform. */
  platform?: string | Platform;
  /** A name from the source: ref.name, io.containerd.image.name, RepoTags. */
  tag?: string;
}

/** Every runnable image (an image manifest with its config) in the graph, in graph order. */
export function listImages(graph: ImageGraph): ImageEntry[] {
  const byDigest = new Map(graph.nodes.map((n) => [n.digest, n]));
  const parents = new Map<Digest, Digest[]>();
  for (const e of graph.edges) {
    if (e.role !== 'manifest') continue;
    const list = parents.get(e.to) ?? [];
    list.push(e.from);
    parents.set(e.to, list);
  }
  const out: ImageEntry[] = [];
  const config = new Map<Digest, Digest>();
  const layers = new Map<Digest, { to: Digest; index: number }[]>();
  for (const e of graph.edges) {
    if (e.role === 'config' && !config.has(e.from)) config.set(e.from, e.to);
    if (e.role === 'layer') {
      const l = layers.get(e.from) ?? [];
      l.push({ to: e.to, index: e.index ?? l.length });
      layers.set(e.from, l);
    }
  }
  for (const n of graph.nodes) {
    if (n.kind !== 'manifest' || n.problems.some((p) => p.code === 'LEGACY_SCHEMA1')) continue;
    const cfg = config.get(n.digest);
    if (!cfg) continue;
    const ls = (layers.get(n.digest) ?? []).sort((a, b) => a.index - b.index).map((l) => l.to);
    const entry: ImageEntry = { manifest: n.digest, config: cfg, layers: ls, names: inheritedNames(n, byDigest, parents) };
    if (n.platform) entry.platform = n.platform;
    out.push(entry);
  }
  return out;
}

/** The image's own names, then those of the indexes that list it (a tag on a multi-platform index names each platform). */
function inheritedNames(n: GraphNode, byDigest: Map<Digest, GraphNode>, parents: Map<Digest, Digest[]>): string[] {
  const names: string[] = [];
  const seen = new Set<Digest>();
  const walk = (d: Digest): void => {
    if (seen.has(d)) return;
    seen.add(d);
    for (const name of byDigest.get(d)?.names ?? []) if (!names.includes(name)) names.push(name);
    for (const p of parents.get(d) ?? []) walk(p);
  };
  walk(n.digest);
  return names;
}

/** Docker-style normal form for comparing names: no docker.io/ and no library/ prefix. */
function normName(s: string): string {
  let n = s.trim();
  n = n.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  n = n.replace(/^library\//, '');
  return n;
}

/** True when `name` (from the source) is what the user asked for with `tag`. */
export function nameMatches(name: string, tag: string): boolean {
  if (name === tag) return true;
  const a = normName(name);
  const b = normName(tag);
  if (a === b) return true;
  // `repo` means `repo:latest` in docker-archive references.
  if (!b.includes(':') && a === `${b}:latest`) return true;
  // A bare tag given for a full reference name (`oci:PATH:1.0` vs ref.name `docker.io/x/y:1.0`).
  if (!b.includes(':') && !b.includes('/') && a.endsWith(`:${b}`)) return true;
  return false;
}

function describe(e: ImageEntry): string {
  const parts = [shortDigest(e.manifest, 12), formatPlatform(e.platform) || 'no platform'];
  if (e.names.length) parts.push(e.names.join(', '));
  return parts.join('  ');
}

function digestMatches(want: string, ...candidates: Digest[]): 'exact' | 'prefix' | undefined {
  const w = want.trim().toLowerCase();
  for (const c of candidates) if (c === w || c.slice(c.indexOf(':') + 1) === w) return 'exact';
  const hex = w.includes(':') ? w : `sha256:${w}`;
  if (hex.length >= 'sha256:'.length + 6) for (const c of candidates) if (c.startsWith(hex)) return 'prefix';
  return undefined;
}

/** Images under an index digest (its manifests, recursively). */
function under(graph: ImageGraph, root: Digest): Set<Digest> {
  const out = new Set<Digest>();
  const stack = [root];
  while (stack.length) {
    const d = stack.pop()!;
    if (out.has(d)) continue;
    out.add(d);
    for (const e of graph.edges) if (e.from === d && e.role === 'manifest') stack.push(e.to);
  }
  return out;
}

/** Chooses one image; throws IMAGE_NOT_FOUND or IMAGE_AMBIGUOUS (with the choices) when it cannot. */
export function selectImage(graph: ImageGraph, choice: ImageChoice = {}): ImageEntry {
  const all = listImages(graph);
  if (all.length === 0) {
    throw new ExplorerError('IMAGE_NOT_FOUND', 'This source contains no runnable image (only indexes, artifacts or signatures); use `inspect` to see what it holds.');
  }
  let cands = all;
  const asked: string[] = [];
  if (choice.tag !== undefined) {
    asked.push(`name "${choice.tag}"`);
    cands = cands.filter((e) => e.names.some((n) => nameMatches(n, choice.tag!)));
  }
  if (choice.digest !== undefined) {
    asked.push(`digest ${choice.digest}`);
    const d = choice.digest;
    const direct = cands.filter((e) => digestMatches(d, e.manifest, e.config) === 'exact');
    if (direct.length) cands = direct;
    else {
      const idx = graph.nodes.find((n) => n.kind === 'index' && digestMatches(d, n.digest) === 'exact');
      if (idx) {
        const set = under(graph, idx.digest);
        cands = cands.filter((e) => set.has(e.manifest));
      } else cands = cands.filter((e) => digestMatches(d, e.manifest, e.config) === 'prefix');
    }
  }
  let want: Platform | undefined;
  if (choice.platform !== undefined) {
    want = typeof choice.platform === 'string' ? parsePlatform(choice.platform) : choice.platform;
    asked.push(`platform ${formatPlatform(want)}`);
    cands = cands.filter((e) => platformMatches(want!, e.platform));
  }
  if (cands.length === 1) return cands[0]!;
  if (cands.length === 0) {
    throw new ExplorerError(
      'IMAGE_NOT_FOUND',
      `No image matches ${asked.join(' and ')}. Images in this source: ${all.map(describe).join('; ')}.`,
      { choices: all.map(choiceFacts) },
    );
  }
  if (!want) {
    const host = hostPlatform();
    const onHost = cands.filter((e) => platformMatches(host, e.platform));
    if (onHost.length === 1) return onHost[0]!;
  }
  throw new ExplorerError(
    'IMAGE_AMBIGUOUS',
    `This source holds ${cands.length} images${asked.length ? ` matching ${asked.join(' and ')}` : ''}; choose one with --image <digest> or --platform os/arch[/variant]: ${cands.map(describe).join('; ')}.`,
    { choices: cands.map(choiceFacts) },
  );
}

function choiceFacts(e: ImageEntry): { digest: Digest; platform?: string; names: string[] } {
  const f: { digest: Digest; platform?: string; names: string[] } = { digest: e.manifest, names: e.names };
  if (e.platform) f.platform = formatPlatform(e.platform);
  return f;
}
