import { digestOf } from '../oci/digest.js';
import { MT } from '../oci/mediatypes.js';
import type { Descriptor, Manifest } from '../oci/types.js';

// Documents made up for sources that have none: `docker save` archives before Docker 25, Docker's
// on-disk store and engine keep a config and layers but no manifest. The made-up bytes are hashed like
// any blob, so the graph verifies them the same way; RootEntry.synthetic tells the UI to say so.

export interface SyntheticDoc {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** A Docker v2 schema 2 manifest for a config and its layers (what `docker push` would write). */
export function synthesizeManifest(config: Descriptor, layers: Descriptor[]): SyntheticDoc {
  const m: Manifest = { schemaVersion: 2, mediaType: MT.dockerManifest, config, layers };
  return doc(MT.dockerManifest, m);
}

/** v1 image JSON (`<id>/json` of pre-1.10 saves) fields we use; the rest is carried into the rebuilt config. */
export interface V1Image {
  parent?: unknown;
  created?: unknown;
  author?: unknown;
  comment?: unknown;
  container_config?: { Cmd?: unknown } | null;
  [k: string]: unknown;
}

/** Docker's MakeConfigFromV1Config: the top layer's v1 JSON minus v1-only fields, plus rootfs and history. */
export function configFromV1(chain: V1Image[], diffIds: string[]): SyntheticDoc {
  const top = chain.at(-1) ?? {};
  const cfg: Record<string, unknown> = { ...top };
  for (const k of ['id', 'parent', 'Size', 'parent_id', 'layer_id', 'throwaway']) delete cfg[k];
  cfg.rootfs = { type: 'layers', diff_ids: diffIds };
  cfg.history = chain.map((v1) => {
    const h: Record<string, unknown> = {};
    if (typeof v1.created === 'string') h.created = v1.created;
    if (typeof v1.author === 'string' && v1.author) h.author = v1.author;
    const cmd = v1.container_config?.Cmd;
    if (Array.isArray(cmd) && cmd.length) h.created_by = cmd.join(' ');
    if (typeof v1.comment === 'string' && v1.comment) h.comment = v1.comment;
    return h;
  });
  const sorted = Object.fromEntries(Object.keys(cfg).sort().map((k) => [k, cfg[k]]));
  return doc(MT.dockerConfig, sorted);
}

function doc(mediaType: string, value: unknown): SyntheticDoc {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  return { descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}
