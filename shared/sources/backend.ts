import type { ImageSource, SourceKind } from './types.js';
import type { Vfs } from './vfs.js';

// What a backend is: a transport name (as skopeo names them), how it recognises a spec, and open().
// The list of backends is sources/backends.ts; openSource (sources/open.ts), the CLI's help and the
// app's capabilities are derived from it. Adding a backend is one file plus one line in that list.

/** What the user asked for beyond the container: a tag in `oci:PATH:TAG`, a `REPO:TAG` in docker-archive. */
export interface SourceSelector {
  tag?: string;
}

export interface OpenedSource {
  source: ImageSource;
  selector: SourceSelector;
}

/** Progress of a long open (a registry's manifests, a Docker export), for the operation's events. */
export interface OpenProgress {
  /** Short sentence, e.g. "Fetching the manifest of ruby:2.7.2-slim". */
  label: string;
  done?: number;
  total?: number;
  unit?: 'bytes' | 'entries' | 'layers' | 'files';
}

/** A user name + secret for one registry (a password, a token, or an identity token). */
export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken` in Docker's config). */
  identityToken?: string;
  /** A registry token used as is (Bearer). */
  registryToken?: string;
}

/**
 * Where credentials come from beyond the files and helpers a backend reads itself: the app asks the
 * user (a prompt) when a registry refuses without usable ones. Returns undefined when the user declines.
 */
export interface CredentialPrompt {
  ask(registry: string, why: string, signal: AbortSignal): Promise<Credential | undefined>;
}

/** Everything a backend may need to open a spec; one per open. */
export interface OpenContext {
  /** Cancels the open (and any later read of the source that has no signal of its own). Required: every long operation is cancellable. */
  signal: AbortSignal;
  /** Environment (DOCKER_HOST, DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR…); process.env unless a caller narrows it. */
  env: Record<string, string | undefined>;
  /** Relative paths in a spec are taken against this folder. */
  cwd: string;
  /** The cache root: layer indexes, restart points, pulled blobs (see layers/store.ts). */
  cacheDir: string;
  progress?: (p: OpenProgress) => void;
  /** Asks for credentials when a registry refuses without usable ones (the app's prompt); absent in the CLI. */
  credentials?: CredentialPrompt;
  /** Plain HTTP (and unverified TLS) for registries that are not on loopback: the user's explicit choice. */
  insecure?: boolean;
}

/** A local path that exists, opened once and shown to every path backend's detect(). */
export interface LocalProbe {
  /** Absolute path. */
  path: string;
  /** What the user typed. */
  spec: string;
  isDir: boolean;
  /** The folder, or the tar read in place (a compressed tarball decompressed first). */
  vfs: Vfs;
  /** Regular files at the top of the folder or archive. */
  has(rel: string): Promise<boolean>;
}

export interface Backend {
  /** skopeo's transport name: `oci`, `oci-archive`, `docker-archive`, `dir`, `docker`, `docker-daemon`… */
  readonly transport: string;
  /** What the source says it is (SourceHandle.kind). */
  readonly kind: SourceKind;
  /** The spec's form for help texts, e.g. `oci:PATH[:TAG]`. */
  readonly syntax: string;
  /** One line for help texts: what it opens. */
  readonly summary: string;
  /** Opens `rest`, the spec after `transport:`. */
  open(rest: string, ctx: OpenContext): Promise<OpenedSource>;
  /**
   * For a spec without a transport that names an existing path: true when the path is this backend's
   * (checked in list order; the first that says yes opens it with openProbe).
   */
  detect?(probe: LocalProbe): Promise<boolean>;
  /** Opens a detected path; takes over probe.vfs (closes it with the source). */
  openProbe?(probe: LocalProbe, ctx: OpenContext): Promise<OpenedSource>;
  /**
   * For a spec without a transport that is not an existing path: true when it is this backend's
   * (a registry reference). The first that says yes opens it with open(spec).
   */
  claims?(spec: string): boolean;
}
