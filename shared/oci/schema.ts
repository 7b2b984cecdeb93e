import type { ErrorObject, ValidateFunction } from 'ajv';
import { DIGEST_GRAMMAR, digestOf, digestProblem, isRegisteredAlgorithm } from './digest.js';
import { MT, mediaTypeKind } from './mediatypes.js';
import { MEDIA_TYPE_PATTERN } from './schemas/index.js';
import * as generated from './schemas/validators.generated.cjs';

// Validation of one parsed document: our JSON Schemas (schemas/*.ts, after image-spec's schema
// folder) compiled ahead of time by Ajv (schemas/validators.generated.cjs), then the spec rules a
// schema cannot say (registered digest encodings, base64 padding, Env entries, mediaType of the document itself…). Unknown fields are
// allowed everywhere: the spec says consumers ignore them.

export type DocType = 'index' | 'manifest' | 'config' | 'descriptor' | 'layout';

export interface SchemaViolation {
  /** JSON pointer of the failing field, e.g. `/layers/0/digest` ("" for the document). */
  path: string;
  message: string;
}

type SchemaKey = DocType | 'dockerManifest' | 'dockerList';
type Obj = Record<string, unknown>;

/** Compiled ahead of time (scripts/gen-validators.ts): no Ajv code generation at run time. */
const VALIDATORS: Record<SchemaKey, ValidateFunction> = generated;
const validators = (): Record<SchemaKey, ValidateFunction> => VALIDATORS;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const MEDIA_TYPE_RE = new RegExp(MEDIA_TYPE_PATTERN);
// RFC 4648 §4 with padding, as Go's base64.StdEncoding decodes []byte fields (it skips CR/LF).
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');

/** The field name a message starts with: `/layers/0/digest` → "digest", `/config/Env/1` → "Env[1]". */
function label(path: string): string {
  if (!path) return 'the document';
  const segs = path.split('/').slice(1).map(unescapePointer);
  const last = segs[segs.length - 1] ?? '';
  const prev = segs[segs.length - 2];
  if (/^\d+$/.test(last)) return prev ? `${prev}[${last}]` : `entry ${last}`;
  // Keys are the document's own text: quoted as JSON so a newline in a key cannot break a line.
  if (prev === 'annotations') return `annotation ${JSON.stringify(last)}`;
  if (prev === 'Labels') return `label ${JSON.stringify(last)}`;
  if (prev === 'ExposedPorts' || prev === 'Volumes') return `${prev} entry ${JSON.stringify(last)}`;
  return last;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', integer: 'an integer', number: 'a number', object: 'an object',
  array: 'an array', boolean: 'true or false', null: 'null',
};

function typeWords(t: unknown): string {
  const list = (Array.isArray(t) ? t : String(t).split(',')).map((x) => TYPE_WORDS[String(x)] ?? String(x));
  return list.join(' or ');
}

/** Turns one Ajv error into a sentence about the field, never Ajv's own wording. */
function fromAjv(e: ErrorObject): SchemaViolation {
  const custom = (e.parentSchema as { errorText?: Record<string, string> } | undefined)?.errorText?.[e.keyword];
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') {
    const path = `${e.instancePath}/${escapePointer(String(p.missingProperty))}`;
    return { path, message: `${label(path)} is required` };
  }
  let predicate: string;
  switch (e.keyword) {
    case 'type': predicate = `must be ${typeWords(p.type)}`; break;
    case 'const': predicate = `must be ${JSON.stringify(p.allowedValue)}`; break;
    case 'enum': predicate = `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`; break;
    case 'minimum': predicate = p.limit === 0 ? 'must not be negative' : `must be at least ${String(p.limit)}`; break;
    case 'maximum': predicate = `must be at most ${String(p.limit)}`; break;
    case 'minItems': predicate = `must have at least ${String(p.limit)} ${p.limit === 1 ? 'entry' : 'entries'}`; break;
    case 'pattern': predicate = `must match ${String(p.pattern)}`; break;
    case 'format': predicate = `must be a valid ${String(p.format)}`; break;
    default: predicate = e.message ?? `fails the ${e.keyword} rule`;
  }
  let message = `${label(e.instancePath)} ${custom ?? predicate}`;
  // Say what was found for value rules, so a long document need not be searched.
  if (['pattern', 'format', 'enum', 'const'].includes(e.keyword) && typeof e.data === 'string') {
    message += `; found ${JSON.stringify(e.data.length > 80 ? `${e.data.slice(0, 77)}...` : e.data)}`;
  }
  return { path: e.instancePath, message };
}

/** Collects violations, one per path: the first (schema) reason wins over later rule checks. */
class Violations {
  readonly list: SchemaViolation[] = [];
  private readonly seen = new Set<string>();
  add(path: string, message: string): void {
    if (this.seen.has(path)) return;
    this.seen.add(path);
    this.list.push({ path, message });
  }
  has(path: string): boolean {
    return this.seen.has(path);
  }
}

/** Validates one parsed document against image-spec's rules (schema plus the rules the schema cannot say). */
export function validateDocument(doc: unknown, type: DocType): SchemaViolation[] {
  const out = new Violations();
  const mt = isObj(doc) && typeof doc.mediaType === 'string' ? doc.mediaType : undefined;

  if ((type === 'manifest' || type === 'index') && isObj(doc) && doc.schemaVersion === 1) {
    out.add('/schemaVersion', 'schemaVersion 1 is Docker\'s legacy v2 schema 1 manifest, which is deprecated and not checked here: only schemaVersion 2 documents can be validated');
    return out.list;
  }

  let key: SchemaKey = type;
  if (type === 'manifest' && mt === MT.dockerManifest) key = 'dockerManifest';
  if (type === 'index' && mt === MT.dockerList) key = 'dockerList';
  const validate = validators()[key] as ValidateFunction | undefined;
  if (!validate) {
    // Reachable only from untyped callers (IPC, web mode): say so instead of crashing.
    out.add('', `"${String(type)}" is not a document type; use one of index, manifest, config, descriptor, layout`);
    return out.list;
  }
  if (!validate(doc)) for (const e of validate.errors ?? []) {
    const v = fromAjv(e);
    out.add(v.path, v.message);
  }
  if (!isObj(doc)) return out.list;

  switch (type) {
    case 'manifest':
      checkOwnMediaType(doc, 'manifest', out);
      checkDescriptor(doc.config, '/config', out);
      if (Array.isArray(doc.layers)) doc.layers.forEach((d, i) => checkDescriptor(d, `/layers/${i}`, out));
      checkDescriptor(doc.subject, '/subject', out);
      // manifest.md: artifactType MUST be set when config.mediaType is the empty value.
      if (key === 'manifest' && isObj(doc.config) && doc.config.mediaType === MT.ociEmpty && doc.artifactType === undefined) {
        out.add('/artifactType', `artifactType is required when config.mediaType is ${MT.ociEmpty} (it says what kind of artifact this is)`);
      }
      break;
    case 'index':
      checkOwnMediaType(doc, 'index', out);
      if (Array.isArray(doc.manifests)) doc.manifests.forEach((d, i) => checkDescriptor(d, `/manifests/${i}`, out));
      checkDescriptor(doc.subject, '/subject', out);
      break;
    case 'descriptor':
      checkDescriptor(doc, '', out);
      break;
    case 'config':
      checkConfig(doc, out);
      break;
    case 'layout':
      break;
  }
  return out.list;
}

const KIND_WORDS: Record<string, string> = {
  index: 'an image index', manifest: 'an image manifest', config: 'an image config',
  layer: 'a layer', 'manifest-v1': 'a Docker schema 1 manifest (legacy)',
};

/** manifest.md / image-index.md: when mediaType is used it MUST name this kind of document. */
function checkOwnMediaType(doc: Obj, type: 'manifest' | 'index', out: Violations): void {
  const mt = doc.mediaType;
  if (typeof mt !== 'string' || out.has('/mediaType') || !MEDIA_TYPE_RE.test(mt)) return;
  const allowed = type === 'manifest' ? [MT.ociManifest, MT.dockerManifest] : [MT.ociIndex, MT.dockerList];
  if ((allowed as string[]).includes(mt)) return;
  const kind = mediaTypeKind(mt);
  if (kind !== 'other') {
    out.add('/mediaType', `mediaType "${mt}" says this is ${KIND_WORDS[kind]}, not ${KIND_WORDS[type]}`);
  } else {
    out.add('/mediaType', `mediaType must be ${allowed[0]} (or Docker's ${allowed[1]}) when present, not "${mt}"`);
  }
}

/** Registered algorithms (sha256, sha512) have a fixed encoding the grammar cannot say. */
function registeredDigestProblem(d: unknown, path: string): string | undefined {
  if (typeof d !== 'string' || !DIGEST_GRAMMAR.test(d)) return undefined;
  const alg = d.slice(0, d.indexOf(':'));
  if (!isRegisteredAlgorithm(alg)) return undefined;
  const p = digestProblem(d);
  return p?.replace(/^digest/, label(path));
}

/** descriptor.md rules beyond the schema: digest encoding, and `data` against padding, size and digest. */
function checkDescriptor(d: unknown, path: string, out: Violations): void {
  if (!isObj(d)) return;
  const digestPath = `${path}/digest`;
  if (!out.has(digestPath)) {
    const p = registeredDigestProblem(d.digest, digestPath);
    if (p) out.add(digestPath, p);
  }
  const dataPath = `${path}/data`;
  if (typeof d.data !== 'string' || out.has(dataPath)) return;
  const data = d.data.replace(/[\r\n]/g, '');
  if (!BASE64_RE.test(data)) {
    out.add(dataPath, 'data must be standard base64 (RFC 4648) including its = padding');
    return;
  }
  const bytes = Buffer.from(data, 'base64');
  if (typeof d.size === 'number' && Number.isInteger(d.size) && bytes.length !== d.size) {
    out.add(dataPath, `data holds ${bytes.length} bytes but size says ${d.size}`);
    return;
  }
  if (typeof d.digest === 'string' && !out.has(digestPath) && DIGEST_GRAMMAR.test(d.digest)) {
    const alg = d.digest.slice(0, d.digest.indexOf(':'));
    if (isRegisteredAlgorithm(alg) && digestOf(bytes, alg) !== d.digest) {
      out.add(dataPath, `data does not match digest: its ${alg} is ${digestOf(bytes, alg)}`);
    }
  }
}

/** config.md rules beyond the schema: Env entries are NAME=value; diff_ids are digests. */
function checkConfig(doc: Obj, out: Violations): void {
  const cfg = doc.config;
  if (isObj(cfg) && Array.isArray(cfg.Env)) {
    cfg.Env.forEach((v, i) => {
      const path = `/config/Env/${i}`;
      // image-spec's validator.go: ^[^=]+=.*$ (we also accept values with newlines).
      if (typeof v === 'string' && !/^[^=]+=/.test(v)) out.add(path, `Env[${i}] must have the form NAME=value, e.g. PATH=/usr/bin`);
    });
  }
  const rootfs = doc.rootfs;
  if (isObj(rootfs) && Array.isArray(rootfs.diff_ids)) {
    rootfs.diff_ids.forEach((v, i) => {
      const path = `/rootfs/diff_ids/${i}`;
      if (typeof v !== 'string' || out.has(path)) return;
      if (!DIGEST_GRAMMAR.test(v)) {
        out.add(path, `${label(path)} must be a digest of the uncompressed layer, e.g. sha256: followed by 64 lowercase hex characters`);
        return;
      }
      const p = registeredDigestProblem(v, path);
      if (p) out.add(path, p);
    });
  }
}

/**
 * Guesses the document type from its mediaType field (and shape when there is none). A descriptor
 * carries the media type of what it points at, so a digest or size without a document body decides first.
 */
export function guessDocType(doc: unknown): DocType | undefined {
  if (!isObj(doc)) return undefined;
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(doc, k);
  const body = has('schemaVersion') || has('manifests') || has('layers') || has('config') || has('rootfs');
  if ((has('digest') || has('size')) && !body) return 'descriptor';
  const mt = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const kind = mediaTypeKind(mt);
  if (kind === 'index') return 'index';
  if (kind === 'manifest' || kind === 'manifest-v1') return 'manifest';
  if (kind === 'config') return 'config';
  if (mt === MT.ociLayout) return 'layout';
  if (mt === MT.ociDescriptor) return 'descriptor';
  if (has('manifests')) return 'index';
  if (has('layers') || (has('config') && has('schemaVersion')) || has('fsLayers')) return 'manifest';
  if (has('rootfs') || (has('architecture') && has('os'))) return 'config';
  if (has('imageLayoutVersion')) return 'layout';
  return undefined;
}
