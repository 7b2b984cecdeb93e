import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExplorerError, isExplorerError } from '../errors.js';
import { DockerArchiveSource } from './docker-archive.js';
import { OciLayoutSource } from './oci-layout.js';
import { openTarVfs } from './tarfs.js';
import type { ImageSource } from './types.js';
import { DirVfs, type Vfs } from './vfs.js';

/** What the user asked for beyond the container: a tag in `oci:PATH:TAG`, a `REPO:TAG` in docker-archive. */
export interface SourceSelector {
  tag?: string;
}

export interface OpenedSource {
  source: ImageSource;
  selector: SourceSelector;
}

type Prefix = 'oci' | 'oci-archive' | 'docker-archive';
const PREFIXES: Prefix[] = ['oci', 'oci-archive', 'docker-archive'];
/** skopeo transports we do not read (yet): named so the error can say so instead of "not found". */
const OTHER_TRANSPORTS = ['docker', 'docker-daemon', 'containers-storage', 'dir', 'ostree', 'sif'];

/**
 * Opens what the user gave: an existing path is auto-detected (folder → OCI layout; tar/tar.gz →
 * OCI archive or docker-save); `oci:`, `oci-archive:`, `docker-archive:` prefixes override;
 * anything else is a registry reference.
 */
export async function openSource(spec: string, opts: { signal?: AbortSignal } = {}): Promise<OpenedSource> {
  if (!spec.trim()) throw new ExplorerError('INVALID_ARGUMENT', 'No image was given. Give a path to an OCI layout folder or an image archive (.tar).');
  const colon = spec.indexOf(':');
  const prefix = colon > 0 ? spec.slice(0, colon) : '';
  if ((PREFIXES as string[]).includes(prefix)) {
    const { file, rest } = await splitPathAndSelector(spec.slice(colon + 1));
    const selector: SourceSelector = rest ? { tag: rest } : {};
    return { source: await openAs(prefix as Prefix, file, spec, opts.signal), selector };
  }
  if (OTHER_TRANSPORTS.includes(prefix) && !(await exists(spec))) {
    throw new ExplorerError('SOURCE_UNSUPPORTED', `The ${prefix}: transport is not supported yet. Save the image to a file first (e.g. \`skopeo copy ${spec} oci-archive:image.tar\`) and open that.`);
  }
  const file = expandHome(spec);
  if (await exists(file)) return { source: await openAs(undefined, file, spec, opts.signal), selector: {} };
  if (looksLikePath(spec)) {
    throw new ExplorerError('SOURCE_NOT_FOUND', `${file} does not exist. Check the path, or give an OCI layout folder or an image archive (.tar) that exists.`, { path: file });
  }
  throw new ExplorerError(
    'SOURCE_UNSUPPORTED',
    `Registry references are not supported yet ("${spec}" is not an existing file or folder). Pull the image to a file first, e.g. \`skopeo copy docker://${spec} oci-archive:image.tar\`, or \`docker save -o image.tar ${spec}\`, and open that file.`,
    { reference: spec },
  );
}

/** `PATH[:SELECTOR]` where PATH may itself hold colons: the shortest prefix that exists is the path. */
async function splitPathAndSelector(s: string): Promise<{ file: string; rest: string }> {
  const whole = expandHome(s);
  if (await exists(whole)) return { file: whole, rest: '' };
  for (let i = s.indexOf(':'); i >= 0; i = s.indexOf(':', i + 1)) {
    const head = expandHome(s.slice(0, i));
    if (head && (await exists(head))) return { file: head, rest: s.slice(i + 1) };
  }
  const i = s.indexOf(':');
  const file = expandHome(i >= 0 ? s.slice(0, i) : s);
  throw new ExplorerError('SOURCE_NOT_FOUND', `${file || s} does not exist. Check the path and try again.`, { path: file });
}

async function openAs(prefix: Prefix | undefined, file: string, spec: string, signal?: AbortSignal): Promise<ImageSource> {
  const st = await fsp.stat(file);
  let vfs: Vfs;
  if (st.isDirectory()) {
    vfs = new DirVfs(file);
  } else {
    try {
      vfs = await openTarVfs(file, signal ? { signal } : {});
    } catch (e) {
      if (isExplorerError(e) && e.code === 'ARCHIVE_INVALID' && e.details?.notTar === true) {
        throw new ExplorerError('SOURCE_UNRECOGNISED', `${file} is neither a tar archive nor a folder, so it is not an image. Give an OCI layout folder, an OCI archive (.tar, .tar.gz) or a docker save archive.`, { path: file }, { cause: e });
      }
      throw e;
    }
  }
  try {
    return await sourceOver(vfs, prefix, file, st.isDirectory(), spec);
  } catch (e) {
    await vfs.close();
    throw e;
  }
}

async function sourceOver(vfs: Vfs, prefix: Prefix | undefined, file: string, isDir: boolean, spec: string): Promise<ImageSource> {
  const has = async (rel: string): Promise<boolean> => (await vfs.stat(rel)) !== undefined;
  const layoutKind = isDir ? 'oci-layout' : 'oci-archive';
  if (prefix === 'oci' || prefix === 'oci-archive') {
    const s = new OciLayoutSource(vfs, file, layoutKind);
    await s.checkLayout();
    return s;
  }
  if (prefix === 'docker-archive') return new DockerArchiveSource(vfs, file);
  const layout = await has('oci-layout');
  if (layout && (await has('manifest.json'))) return new DockerArchiveSource(vfs, file); // Docker 25+ save
  if (layout) return new OciLayoutSource(vfs, file, layoutKind);
  if ((await has('manifest.json')) || (await has('repositories'))) return new DockerArchiveSource(vfs, file);
  // Top-level names only: a folder given by mistake (a home folder) must not be walked whole.
  const top = isDir ? await fsp.readdir(file) : [...new Set((await vfs.list()).map((p) => p.split('/')[0] ?? p))];
  const found = top.sort().slice(0, 5);
  throw new ExplorerError(
    'SOURCE_UNRECOGNISED',
    `${spec} is a ${isDir ? 'folder' : 'tar archive'} but not an image: it ${found.length ? `holds ${found.join(', ')}${found.length === 5 ? ', …' : ''}` : 'is empty'}, and no oci-layout, manifest.json or repositories. Give an OCI layout (oci-layout + index.json + blobs/) or a docker save archive (manifest.json).`,
    { path: file, found },
  );
}

async function exists(p: string): Promise<boolean> {
  return (await fsp.stat(p).catch(() => undefined)) !== undefined;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function looksLikePath(s: string): boolean {
  return /^[/.~]/.test(s) || /\.(tar|tgz|tar\.gz|tar\.zst|tzst|zst|gz)$/i.test(s);
}
