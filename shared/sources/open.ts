import { promises as fsp } from 'node:fs';
import { ExplorerError } from '../errors.js';
import { defaultCacheDir } from '../store/paths.js';
import type { Backend, LocalProbe, OpenContext, OpenedSource } from './backend.js';
import { BACKENDS } from './backends.js';
import { absolutePath, exists, looksLikePath, openProbe } from './local.js';

export type { OpenedSource, SourceSelector } from './backend.js';

/** skopeo transports no backend reads: named so the error can say so instead of "not found". */
const OTHER_TRANSPORTS = ['containers-storage', 'ostree', 'sif', 'tarball'];

const NEVER = new AbortController().signal;

/** A full OpenContext from what the caller gives (CLI: cwd and env; API: signal and prompts). */
export function openContext(opts: Partial<OpenContext> = {}): OpenContext {
  const env = opts.env ?? process.env;
  return { signal: NEVER, cwd: process.cwd(), cacheDir: defaultCacheDir(env), ...opts, env };
}

/** The backend for a `transport:` prefix, if any. */
export function backendFor(transport: string, backends: readonly Backend[] = BACKENDS): Backend | undefined {
  return backends.find((b) => b.transport === transport);
}

/**
 * Opens what the user gave: `transport:REST` goes to that backend; an existing path to the first backend
 * that detects it; anything else to the first that claims it (a registry reference).
 */
export async function openSource(spec: string, opts: Partial<OpenContext> = {}, backends: readonly Backend[] = BACKENDS): Promise<OpenedSource> {
  const ctx = openContext(opts);
  if (!spec.trim()) throw new ExplorerError('INVALID_ARGUMENT', 'No image was given. Give a path to an OCI layout folder or an image archive (.tar), or an image reference.');
  const m = /^([a-z][a-z0-9-]*):/.exec(spec);
  const transport = m?.[1];
  if (transport) {
    const b = backendFor(transport, backends);
    // skopeo writes its registry transport `docker://REF`: the "//" is not part of the reference.
    if (b) return b.open(b.transport === 'docker' ? spec.slice(transport.length + 1).replace(/^\/\//, '') : spec.slice(transport.length + 1), ctx);
    if (OTHER_TRANSPORTS.includes(transport) && !(await exists(absolutePath(spec, ctx.cwd)))) {
      throw new ExplorerError('SOURCE_UNSUPPORTED', `The ${transport}: transport is not supported. ${supported(backends)} Save the image in one of those forms first (e.g. \`skopeo copy ${spec} oci-archive:image.tar\`).`);
    }
  }
  const file = absolutePath(spec, ctx.cwd);
  if (await exists(file)) return openDetected(await openProbe(file, spec, ctx.signal), ctx, backends);
  const claimer = backends.find((b) => b.claims?.(spec));
  if (claimer) return claimer.open(spec, ctx);
  if (looksLikePath(spec) || !backends.some((b) => b.claims)) {
    if (looksLikePath(spec)) throw new ExplorerError('SOURCE_NOT_FOUND', `${file} does not exist. Check the path, or give an OCI layout folder or an image archive (.tar) that exists.`, { path: file });
    throw new ExplorerError(
      'SOURCE_UNSUPPORTED',
      `Registry references are not supported yet ("${spec}" is not an existing file or folder). Pull the image to a file first, e.g. \`skopeo copy docker://${spec} oci-archive:image.tar\`, and open that file.`,
      { reference: spec },
    );
  }
  throw new ExplorerError('SOURCE_NOT_FOUND', `"${spec}" is neither an existing path nor an image reference. ${supported(backends)}`, { spec });
}

async function openDetected(probe: LocalProbe, ctx: OpenContext, backends: readonly Backend[]): Promise<OpenedSource> {
  try {
    for (const b of backends) {
      if (b.detect && b.openProbe && (await b.detect(probe))) return await b.openProbe(probe, ctx);
    }
    // Top-level names only: a folder given by mistake (a home folder) must not be walked whole.
    const top = probe.isDir ? await fsp.readdir(probe.path) : [...new Set((await probe.vfs.list()).map((p) => p.split('/')[0] ?? p))];
    const found = top.sort().slice(0, 5);
    throw new ExplorerError(
      'SOURCE_UNRECOGNISED',
      `${probe.spec} is a ${probe.isDir ? 'folder' : 'tar archive'} but not an image: it ${found.length ? `holds ${found.join(', ')}${found.length === 5 ? ', …' : ''}` : 'is empty'}, and no oci-layout, manifest.json or repositories. Give an OCI layout (oci-layout + index.json + blobs/) or a docker save archive (manifest.json).`,
      { path: probe.path, found },
    );
  } catch (e) {
    await probe.vfs.close();
    throw e;
  }
}

/** "It reads: oci:PATH[:TAG], …" from the backend list. */
export function supported(backends: readonly Backend[] = BACKENDS): string {
  return `It reads: ${backends.map((b) => b.syntax).join(', ')}.`;
}
