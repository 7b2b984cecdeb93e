import { ExplorerError } from '../errors.js';

// Image references by distribution/reference's grammar (what `docker pull` and skopeo's docker://
// accept): [domain[:port]/]path[:tag][@digest]. The first path part is a registry only when it is
// `localhost` or holds a `.` or `:` (or is an [IPv6] address); otherwise the image is on Docker Hub
// (`docker.io`, served by registry-1.docker.io) and a one-part name gets `library/`.

export const DOCKER_HUB = 'docker.io';
/** The host that actually serves docker.io's registry API. */
export const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';
/** Docker's credential key for Docker Hub (config.json `auths`, credential helpers). */
export const DOCKER_HUB_CREDENTIAL_KEY = 'https://index.docker.io/v1/';

export interface Reference {
  /** The registry as named: `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`. */
  registry: string;
  /** The repository path: `library/ruby`, `o/r`. */
  repository: string;
  tag?: string;
  /** When present it decides what is fetched; a tag beside it is only a label. */
  digest?: string;
}

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const NAME_MAX = 255;

function invalid(spec: string, why: string): ExplorerError {
  return new ExplorerError('REFERENCE_INVALID', `"${spec}" is not a valid image reference: ${why}.`, { reference: spec, reason: why });
}

/** Splits `name` into (domain, path) as distribution's splitDockerDomain does. */
function splitDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  const first = i < 0 ? '' : name.slice(0, i);
  if (i < 0 || (!/[.:]/.test(first) && first !== 'localhost' && !first.startsWith('[') && first.toLowerCase() === first)) {
    return [DOCKER_HUB, name];
  }
  return [first, name.slice(i + 1)];
}

/** Why the repository path is not valid (a sentence part), or undefined. */
function pathProblem(p: string): string | undefined {
  if (!p) return 'the repository name is empty';
  if (p !== p.toLowerCase()) return 'repository names must be lowercase (a registry host may have capitals, the path may not)';
  if (p.split('/').some((c) => !c)) return 'the repository path has an empty part (two slashes in a row, or a slash at the start or end)';
  if (!PATH_RE.test(p)) {
    return 'each part of the repository path must be lowercase letters and digits, separated by single ".", "_", "__" or runs of "-", and may not start or end with a separator';
  }
  return undefined;
}

/**
 * Parses an image reference; throws REFERENCE_INVALID with a sentence saying what is wrong.
 * A leading `docker://` (skopeo's transport) is accepted.
 */
export function parseReference(input: string): Reference {
  const spec = input.trim().replace(/^docker:\/\//, '');
  if (!spec) throw invalid(input, 'it is empty');
  if (/\s/.test(spec)) throw invalid(input, 'it contains white space');
  if (/^[a-f0-9]{64}$/.test(spec)) throw invalid(input, 'a 64-character hex string is an image ID, not a name; give a name, or name@sha256:<hex>');
  let rest = spec;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input, `"${digest}" after @ is not a digest (write it as sha256: followed by 64 hex characters)`);
    if (!/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/.test(digest)) {
      throw invalid(input, `the digest must be sha256: with 64 or sha512: with 128 lowercase hex characters ("${digest}" is not)`);
    }
  }
  let tag: string | undefined;
  // A tag follows the last colon that comes after the last slash (a colon before it is a port).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && !rest.endsWith(']')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tag) throw invalid(input, 'the tag after ":" is empty');
    if (!TAG.test(tag)) throw invalid(input, `the tag "${tag}" must be 1 to 128 letters, digits, "_", "." or "-" and may not start with "." or "-"`);
  }
  if (!rest) throw invalid(input, 'the repository name is missing');
  if (rest.length > NAME_MAX) throw invalid(input, `the name is ${rest.length} characters long, over the limit of ${NAME_MAX}`);
  let [registry, repository] = splitDomain(rest);
  if (registry !== DOCKER_HUB) {
    if (!DOMAIN_RE.test(registry)) throw invalid(input, `"${registry}" is not a registry host (host name or [IPv6] address, optionally :port)`);
    if (registry === 'index.docker.io') registry = DOCKER_HUB;
  }
  const why = pathProblem(repository);
  if (why) throw invalid(input, why);
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  const ref: Reference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  else if (tag === undefined) ref.tag = 'latest';
  return ref;
}

/** A repository (for `tags REPO`): a reference without tag or digest. */
export function parseRepository(input: string): Reference {
  const ref = parseReference(input);
  const spec = input.trim().replace(/^docker:\/\//, '');
  if (ref.digest || /:[^/\]]*$/.test(spec)) throw invalid(input, 'give a repository without a tag or digest, e.g. library/ruby');
  delete ref.tag;
  return ref;
}

/** The reference fully written out: `docker.io/library/ruby:2.7.2-slim`, `ghcr.io/o/r@sha256:…`. */
export function formatReference(ref: Reference): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Docker's short form: `ruby:2.7.2-slim`, `o/r@sha256:…` for Docker Hub; full otherwise. */
export function familiarReference(ref: Reference): string {
  const full = formatReference(ref);
  if (ref.registry !== DOCKER_HUB) return full;
  return full.slice(DOCKER_HUB.length + 1).replace(/^library\//, '');
}

/** The host[:port] whose /v2/ API serves this registry. */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** The host name without port or brackets: `::1`, `127.0.0.1`, `ghcr.io`. */
export function hostName(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i >= 0 ? hostPort.slice(0, i) : hostPort;
}

/** Loopback registries may speak plain HTTP (Docker treats 127.0.0.0/8 as insecure by default). */
export function isLoopbackHost(hostPort: string): boolean {
  const h = hostName(hostPort).toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** True for what can be meant as a reference (not a path): handed to parseReference for its verdict. */
export function looksLikeReference(spec: string): boolean {
  const s = spec.trim().replace(/^docker:\/\//, '');
  return s.length > 0 && !/\s/.test(s) && /^[A-Za-z0-9[][A-Za-z0-9._:/@[\]-]*$/.test(s);
}
