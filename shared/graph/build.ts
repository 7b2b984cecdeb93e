import { ExplorerError, toExplorerError, type Problem } from '../errors.js';
import { digestProblem, shortDigest, type Digest } from '../oci/digest.js';
import { KNOWN_MEDIA_TYPES, MT, isConfigType, isLayerType, mediaTypeKind } from '../oci/mediatypes.js';
import { formatPlatform, isRealPlatform, normalizePlatform, type Platform } from '../oci/platform.js';
import { validateDocument, type DocType } from '../oci/schema.js';
import { ANN, type Annotations, type Descriptor } from '../oci/types.js';
import type { ImageSource } from '../sources/types.js';
import { MAX_CONFIG_BYTES, MAX_DOCUMENT_BYTES, readVerified } from '../sources/verify.js';
import { historyProblem } from './history.js';
import type { EdgeRole, GraphEdge, GraphNode, ImageGraph, NodeKind, VerifyState } from './types.js';

export { mapHistoryToLayers, historyProblem, type HistoryLayer } from './history.js';

// Walks a source from its roots into the descriptor graph. Every index, manifest and config is read
// and verified now (they are small); layers are only stat'ed (verify 'pending') so opening a 1 GB
// archive reads no layer bytes. Whatever is wrong becomes a Problem on the node it concerns: a
// broken document never stops the walk of the rest.

/** Parsed documents and raw bytes of what the walk read, by digest, for the inspector and layer code. */
export interface GraphContext {
  readonly source: ImageSource;
  readonly graph: ImageGraph;
  node(digest: Digest): GraphNode | undefined;
  /** Bytes of a document as read (verified, or as stored when its node has a digest/size problem). */
  raw(digest: Digest): Buffer | undefined;
  /** Parsed JSON of a document, when it parsed. */
  doc(digest: Digest): unknown;
  /** The first descriptor that pointed at this digest (roots: the source's root descriptor). */
  descriptor(digest: Digest): Descriptor | undefined;
}

export interface BuildOptions {
  signal?: AbortSignal;
}

const SIGNATURE_TYPES = new Set<string>([MT.notarySignature, MT.cosignSimpleSigning, MT.sigstoreBundle]);
const ATTESTATION_ARTIFACT = 'application/vnd.docker.attestation.manifest.v1+json';
const TAG_REFERRERS = /^(sha256|sha512)-([a-f0-9]{64}|[a-f0-9]{128})$/;
const COSIGN_TAG = /^(sha256|sha512)-([a-f0-9]{64}|[a-f0-9]{128})\.(sig|att|sbom)$/;

/** Real images nest indexes 2–3 deep; a hostile chain must not run the walk into the ground. */
const MAX_DEPTH = 32;

type Hint = 'root' | 'entry' | 'subject' | 'config' | 'layer';

interface Visit {
  parent?: Digest;
  role?: EdgeRole;
  index?: number;
  hint: Hint;
  /** Kind forced by the parent (attestation entries, layers of signatures…). */
  kind?: NodeKind;
  names?: string[];
  synthetic?: boolean;
  label?: string;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function annotationsOf(v: unknown): Annotations | undefined {
  if (!isObj(v)) return undefined;
  const out: Annotations = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return Object.keys(out).length ? out : undefined;
}

function platformOf(v: unknown): Platform | undefined {
  if (!isObj(v) || typeof v.os !== 'string' || typeof v.architecture !== 'string') return undefined;
  const p: Platform = { os: v.os, architecture: v.architecture };
  if (typeof v.variant === 'string' && v.variant) p.variant = v.variant;
  if (typeof v['os.version'] === 'string') p['os.version'] = v['os.version'];
  const n = normalizePlatform(p);
  return isRealPlatform(n) ? n : undefined;
}

/** Names an index entry gives the thing it points at. */
function entryNames(ann: Annotations | undefined): string[] {
  if (!ann) return [];
  return [ann[ANN.refName], ann[ANN.containerdName]].filter((n): n is string => !!n);
}

class Builder {
  readonly nodes = new Map<Digest, GraphNode>();
  readonly edges: GraphEdge[] = [];
  private readonly edgeKeys = new Set<string>();
  readonly raws = new Map<Digest, Buffer>();
  readonly docs = new Map<Digest, unknown>();
  readonly descs = new Map<Digest, Descriptor>();
  /** referrer → subject, from `subject` fields (loops are looked for after the walk). */
  private readonly subjects = new Map<Digest, Digest>();
  /** attestation manifest → the image it describes (vnd.docker.reference.digest). */
  private readonly attests = new Map<Digest, Digest>();
  /** Digests whose children are being walked: guards cycles that only unverified bytes could make. */
  private readonly walking = new Set<Digest>();

  constructor(
    private readonly source: ImageSource,
    private readonly signal?: AbortSignal,
  ) {}

  private checkAbort(): void {
    if (this.signal?.aborted) throw new ExplorerError('CANCELLED', 'Opening the image was cancelled.');
  }

  addEdge(from: Digest, to: Digest, role: EdgeRole, index?: number): void {
    const key = `${from}|${to}|${role}|${index ?? ''}`;
    if (this.edgeKeys.has(key)) return;
    this.edgeKeys.add(key);
    const e: GraphEdge = { from, to, role };
    if (index !== undefined) e.index = index;
    this.edges.push(e);
  }

  /** Problems already on each node, by key: de-duplication stays linear however many a document yields. */
  private readonly problemKeys = new Map<GraphNode, Set<string>>();

  private problem(node: GraphNode, p: Problem): void {
    let keys = this.problemKeys.get(node);
    if (!keys) this.problemKeys.set(node, (keys = new Set(node.problems.map(problemKey))));
    const k = problemKey(p);
    if (keys.has(k)) return;
    keys.add(k);
    if (node.problems.length < MAX_NODE_PROBLEMS) node.problems.push(p);
    else if (node.problems.length === MAX_NODE_PROBLEMS) node.problems.push({ code: p.code, message: 'More problems were found in this document; only the first ones are listed.' });
  }

  /** Visits one descriptor; returns the node digest, or undefined when the descriptor has no usable digest. */
  async visit(descIn: unknown, v: Visit): Promise<Digest | undefined> {
    this.checkAbort();
    const parent = v.parent ? this.nodes.get(v.parent) : undefined;
    if (!isObj(descIn) || typeof descIn.digest !== 'string') {
      if (parent) this.problem(parent, { code: 'SCHEMA_INVALID', message: `A ${v.role ?? 'child'} descriptor${v.index !== undefined ? ` (#${v.index})` : ''} has no digest, so what it points at cannot be found.` });
      return undefined;
    }
    const digest = descIn.digest;
    const mediaType = str(descIn.mediaType) ?? '';
    const size = typeof descIn.size === 'number' ? descIn.size : -1;
    const desc: Descriptor = { ...(descIn as unknown as Descriptor), mediaType, digest, size };

    let node = this.nodes.get(digest);
    const isNew = !node;
    if (!node) {
      node = { digest, mediaType, size, kind: v.kind ?? 'unknown', verify: 'pending', problems: [] };
      const ann = annotationsOf(descIn.annotations);
      if (ann) node.annotations = ann;
      const at = str(descIn.artifactType);
      if (at) node.artifactType = at;
      if (v.synthetic) node.synthetic = true;
      if (v.label) node.label = v.label;
      this.nodes.set(digest, node);
      this.descs.set(digest, desc);
    }
    const plat = platformOf(descIn.platform);
    if (plat && !node.platform) node.platform = plat;
    for (const n of v.names ?? []) {
      node.names ??= [];
      if (!node.names.includes(n)) node.names.push(n);
    }
    if (v.parent && v.role) this.addEdge(v.parent, digest, v.role, v.index);
    if (!isNew) {
      if (size >= 0 && node.size >= 0 && size !== node.size) {
        this.problem(node, { code: 'SIZE_MISMATCH', message: `Two descriptors disagree on the size of ${shortDigest(digest)} (${node.size} and ${size} bytes); one of them is wrong.` });
      }
      return digest;
    }

    const bad = digestProblem(digest);
    if (bad) {
      node.verify = 'failed';
      this.problem(node, { code: 'DIGEST_INVALID', message: `The descriptor's digest is invalid (${bad}), so its content cannot be found or verified.`, path: '/digest' });
      return digest;
    }
    if (size < 0) this.problem(node, { code: 'SCHEMA_INVALID', message: 'The descriptor has no valid size.', path: '/size' });

    if (v.hint === 'layer') {
      await this.statLayer(node, desc);
      return digest;
    }
    if (v.hint === 'config') {
      await this.visitConfig(node, desc);
      return digest;
    }
    await this.visitDocument(node, desc);
    return digest;
  }

  /** Layers are not read: only their presence and stored size are checked. */
  private async statLayer(node: GraphNode, desc: Descriptor): Promise<void> {
    const stored = await this.source.statBlob(desc.digest);
    if (stored === undefined) {
      // The source knows why (foreign layer, LayerSources without bytes…): opening fails fast without reading.
      const why = await this.source.openBlob(desc, this.signal ? { signal: this.signal } : {}).then(
        (s) => {
          s.destroy();
          return undefined;
        },
        (e: unknown) => toExplorerError(e),
      );
      if (!why) return; // served although not stat-able: still pending
      if (why.code === 'CANCELLED') throw why;
      node.verify = 'missing';
      this.problem(node, { code: 'BLOB_MISSING', message: why.code === 'BLOB_MISSING' ? why.message : `Layer ${shortDigest(desc.digest)} is missing from the source: ${why.message}` });
    } else if (desc.size >= 0 && stored !== desc.size) {
      node.verify = 'failed';
      this.problem(node, { code: 'SIZE_MISMATCH', message: `Layer ${shortDigest(desc.digest)} is ${stored} bytes on disk but its descriptor says ${desc.size}: the image is corrupt or was altered; fetch it again.` });
    }
  }

  /** Reads a document verified; on a digest/size mismatch keeps the stored bytes (flagged) so the rest still shows. */
  private async read(node: GraphNode, desc: Descriptor, max: number): Promise<Buffer | undefined> {
    try {
      const buf = await readVerified(this.source, desc, max, this.signal);
      node.verify = 'verified';
      this.raws.set(node.digest, buf);
      return buf;
    } catch (e) {
      const err = toExplorerError(e);
      if (err.code === 'CANCELLED' || this.signal?.aborted) throw err;
      node.verify = err.code === 'BLOB_MISSING' ? 'missing' : 'failed';
      this.problem(node, { code: err.code, message: err.message });
      if (err.code !== 'DIGEST_MISMATCH' && err.code !== 'SIZE_MISMATCH') return undefined;
      const buf = await this.readUnverified(desc, max).catch(() => undefined);
      if (buf) this.raws.set(node.digest, buf);
      return buf;
    }
  }

  private async readUnverified(desc: Descriptor, max: number): Promise<Buffer | undefined> {
    const s = await this.source.openBlob(desc, this.signal ? { signal: this.signal } : {});
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of s) {
      n += (c as Buffer).length;
      if (n > max) {
        s.destroy();
        return undefined;
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private parse(node: GraphNode, buf: Buffer): unknown {
    try {
      const doc: unknown = JSON.parse(buf.toString('utf8'));
      this.docs.set(node.digest, doc);
      return doc;
    } catch (e) {
      this.problem(node, { code: 'JSON_INVALID', message: `The content is not valid JSON (${(e as Error).message}).` });
      return undefined;
    }
  }

  private validate(node: GraphNode, doc: unknown, type: DocType): void {
    // A history of a million entries would hold the event loop for seconds in the schema validator, for
    // problems past the per-node cap: its first entries are validated (the pairing with layers is
    // checked on the whole history by historyProblem, which is linear and cheap).
    const subject = type === 'config' && isObj(doc) && Array.isArray(doc.history) && doc.history.length > MAX_VALIDATED_HISTORY ? { ...doc, history: doc.history.slice(0, MAX_VALIDATED_HISTORY) } : doc;
    const violations = validateDocument(subject, type);
    // Past the cap nothing more is listed: stop there (a hostile config yields one per history entry).
    for (const v of violations.slice(0, MAX_NODE_PROBLEMS + 1)) {
      this.problem(node, { code: 'SCHEMA_INVALID', message: `${v.path || '/'}: ${v.message}`, path: v.path });
    }
  }

  private async visitConfig(node: GraphNode, desc: Descriptor): Promise<void> {
    if (node.kind === 'unknown') node.kind = 'config';
    const image = isConfigType(desc.mediaType);
    if (!image && desc.size > MAX_DOCUMENT_BYTES) {
      // An artifact's config may be anything, even large: check presence only.
      await this.statLayer(node, desc);
      return;
    }
    if (!desc.mediaType) this.problem(node, { code: 'MEDIATYPE_UNKNOWN', message: 'The config descriptor has no media type.', path: '/mediaType' });
    const buf = await this.read(node, desc, image ? MAX_CONFIG_BYTES : MAX_DOCUMENT_BYTES);
    if (!buf) return;
    if (!image && !/json/.test(desc.mediaType)) return;
    const doc = this.parse(node, buf);
    if (doc === undefined || !image) return;
    this.validate(node, doc, 'config');
    const hp = historyProblem(doc);
    if (hp) this.problem(node, hp);
  }

  /** An index entry, a root or a subject: a manifest or an index (or something unknown). */
  private async visitDocument(node: GraphNode, desc: Descriptor): Promise<void> {
    let mk = mediaTypeKind(desc.mediaType);
    const knownDocType = mk === 'index' || mk === 'manifest' || mk === 'manifest-v1';
    if (!knownDocType) {
      const why = KNOWN_MEDIA_TYPES.has(desc.mediaType)
        ? `Media type "${desc.mediaType}" is not a manifest or index type, so this entry should not be listed here`
        : desc.mediaType
          ? `Media type "${desc.mediaType}" is not one this app knows`
          : 'The descriptor has no media type';
      this.problem(node, { code: 'MEDIATYPE_UNKNOWN', message: `${why}; it is read by its content.`, path: '/mediaType' });
      if (desc.size > MAX_DOCUMENT_BYTES) {
        await this.statLayer(node, desc);
        return;
      }
    }
    const buf = await this.read(node, desc, MAX_DOCUMENT_BYTES);
    if (!buf) {
      if (node.kind === 'unknown' && knownDocType) node.kind = mk === 'index' ? 'index' : 'manifest';
      if (mk === 'manifest-v1') this.legacy(node);
      return;
    }
    const doc = this.parse(node, buf);
    if (!isObj(doc)) {
      if (doc !== undefined) this.problem(node, { code: 'SCHEMA_INVALID', message: 'The document is not a JSON object.', path: '' });
      if (node.kind === 'unknown' && knownDocType) node.kind = mk === 'index' ? 'index' : 'manifest';
      return;
    }
    // The document's own mediaType (or its shape) settles what it is when the descriptor is vague.
    const own = str(doc.mediaType);
    if (own && desc.mediaType && own !== desc.mediaType && knownDocType) {
      this.problem(node, { code: 'SCHEMA_INVALID', message: `The descriptor says "${desc.mediaType}" but the document says "${own}"; it is read as the document says.`, path: '/mediaType' });
    }
    const ownKind = mediaTypeKind(own);
    if (ownKind === 'index' || ownKind === 'manifest' || ownKind === 'manifest-v1') mk = ownKind;
    else if (!knownDocType || own === undefined) {
      if (doc.schemaVersion === 1) mk = 'manifest-v1';
      else if (Array.isArray(doc.manifests) || doc.manifests === null) mk = 'index';
      else if (isObj(doc.config) && Array.isArray(doc.layers)) mk = 'manifest';
    }
    if (mk === 'manifest-v1') {
      this.legacy(node);
      return;
    }
    if (mk !== 'index' && mk !== 'manifest') return; // unknown content: a node with its problem
    if (this.walking.has(node.digest)) return;
    if (this.walking.size >= MAX_DEPTH) {
      this.problem(node, { code: 'TOO_LARGE', message: `Indexes are nested more than ${MAX_DEPTH} deep here; what this one lists is not shown.` });
      return;
    }
    this.walking.add(node.digest);
    try {
      if (mk === 'index') await this.visitIndex(node, doc);
      else await this.visitManifest(node, doc);
    } finally {
      this.walking.delete(node.digest);
    }
  }

  private legacy(node: GraphNode): void {
    if (node.kind === 'unknown') node.kind = 'manifest';
    this.problem(node, { code: 'LEGACY_SCHEMA1', message: 'Docker manifest schema 1 is deprecated: shown read-only, its layers are not explored. Convert it with a current tool (e.g. skopeo copy) to see them.' });
  }

  private async visitIndex(node: GraphNode, doc: Record<string, unknown>): Promise<void> {
    if (node.kind === 'unknown') node.kind = 'index';
    this.validate(node, doc, 'index');
    this.mergeDocAnnotations(node, doc);
    // Tag-schema referrers: an index tagged sha256-<hex> lists the referrers of that digest.
    const tagSubject = this.tagSubject(node, TAG_REFERRERS);
    const entries = Array.isArray(doc.manifests) ? doc.manifests : [];
    if (doc.manifests !== null && doc.manifests !== undefined && !Array.isArray(doc.manifests)) {
      this.problem(node, { code: 'SCHEMA_INVALID', message: '/manifests: must be an array.', path: '/manifests' });
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const ann = isObj(e) ? annotationsOf(e.annotations) : undefined;
      const att = ann?.[ANN.dockerRefType] === 'attestation-manifest';
      const v: Visit = { parent: node.digest, role: 'manifest', index: i, hint: 'entry', names: entryNames(ann) };
      if (att) v.kind = 'attestation';
      const d = await this.visit(e, v);
      if (!d) continue;
      const subj = ann?.[ANN.dockerRefDigest];
      if (att && subj) this.attests.set(d, subj);
      if (tagSubject) this.addEdge(tagSubject, d, 'referrer');
    }
    this.visitSubject(node, doc);
  }

  /** Digest named by a `sha256-<hex>` (or cosign `.sig`) ref name on this node, when the subject is in the graph or appears later. */
  private tagSubject(node: GraphNode, re: RegExp): Digest | undefined {
    for (const n of node.names ?? []) {
      const m = re.exec(n.slice(n.lastIndexOf(':') + 1));
      if (m) return `${m[1]}:${m[2]}`;
    }
    return undefined;
  }

  private mergeDocAnnotations(node: GraphNode, doc: Record<string, unknown>): void {
    const ann = annotationsOf(doc.annotations);
    if (ann) node.annotations = { ...ann, ...node.annotations };
    const at = str(doc.artifactType);
    if (at && !node.artifactType) node.artifactType = at;
  }

  private async visitManifest(node: GraphNode, doc: Record<string, unknown>): Promise<void> {
    this.validate(node, doc, 'manifest');
    this.mergeDocAnnotations(node, doc);
    const config = isObj(doc.config) ? doc.config : undefined;
    const layers = Array.isArray(doc.layers) ? doc.layers : [];
    const configMT = str(config?.mediaType);
    const layerMTs = layers.map((l) => (isObj(l) ? str(l.mediaType) : undefined));
    const artifactType = node.artifactType;

    let kind: NodeKind = node.kind;
    if (kind === 'unknown' || kind === 'manifest') {
      if (artifactType === ATTESTATION_ARTIFACT || (layers.length > 0 && layerMTs.every((m) => m === MT.inToto))) kind = 'attestation';
      else if ((artifactType && SIGNATURE_TYPES.has(artifactType)) || (configMT && SIGNATURE_TYPES.has(configMT)) || layerMTs.some((m) => m === MT.cosignSimpleSigning || m === MT.sigstoreBundle)) kind = 'signature';
      else if (artifactType || !configMT || !isConfigType(configMT)) kind = 'artifact';
      else kind = 'manifest';
    }
    node.kind = kind;
    if (kind === 'attestation') delete node.platform;
    if (kind === 'signature' || kind === 'attestation') {
      const cosign = this.tagSubject(node, COSIGN_TAG);
      if (cosign) this.addEdge(cosign, node.digest, 'referrer');
    }

    if (config) await this.visit(config, { parent: node.digest, role: 'config', hint: 'config', kind: 'config' });
    else this.problem(node, { code: 'SCHEMA_INVALID', message: '/config: the manifest has no config descriptor.', path: '/config' });

    const layerKind: NodeKind = kind === 'attestation' ? 'attestation' : kind === 'signature' ? 'signature' : kind === 'artifact' ? 'artifact' : 'layer';
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i];
      const mt = layerMTs[i];
      let lk = layerKind;
      if (kind === 'artifact' && isLayerType(mt)) lk = 'layer';
      const d = await this.visit(l, { parent: node.digest, role: 'layer', index: i, hint: 'layer', kind: lk });
      const ln = d ? this.nodes.get(d) : undefined;
      if (ln && kind === 'manifest' && mt && !KNOWN_MEDIA_TYPES.has(mt)) {
        this.problem(ln, { code: 'MEDIATYPE_UNKNOWN', message: `Layer media type "${mt}" is not one this app knows; its content is read by its magic bytes.`, path: '/mediaType' });
      }
    }

    if (kind === 'manifest' && config && typeof config.digest === 'string') {
      const cfg = this.docs.get(config.digest);
      const p = platformOf(cfg);
      if (!node.platform) {
        if (p) node.platform = p;
      } else if (p && (p.os !== node.platform.os || p.architecture !== node.platform.architecture)) {
        this.problem(node, { code: 'PLATFORM_INVALID', message: `The index lists this image as ${formatPlatform(node.platform)} but its config says ${formatPlatform(p)}; it will not run where the index sends it.`, path: '/platform' });
      }
      const ids = isObj(cfg) && isObj(cfg.rootfs) && Array.isArray(cfg.rootfs.diff_ids) ? cfg.rootfs.diff_ids : undefined;
      if (ids && ids.length !== layers.length) {
        this.problem(node, { code: 'DIFFID_MISMATCH', message: `The manifest lists ${layers.length} layers but its config lists ${ids.length} diff_ids; the image cannot be assembled reliably.`, path: '/layers' });
      }
    }
    this.visitSubject(node, doc);
  }

  private visitSubject(node: GraphNode, doc: Record<string, unknown>): Promise<void> | void {
    const s = doc.subject;
    if (!isObj(s) || typeof s.digest !== 'string') return;
    const subj = s.digest;
    this.subjects.set(node.digest, subj);
    if (subj === node.digest) return; // self-loop: reported in finish()
    this.pendingSubjects.push({ referrer: node.digest, desc: s });
  }

  /** Subjects are walked after the main pass (they are usually listed on their own too). */
  readonly pendingSubjects: { referrer: Digest; desc: Record<string, unknown> }[] = [];

  async walkSubjects(): Promise<void> {
    while (this.pendingSubjects.length) {
      const { referrer, desc } = this.pendingSubjects.shift()!;
      await this.visit(desc, { hint: 'subject' });
      const subj = desc.digest as string;
      this.addEdge(referrer, subj, 'subject');
      this.addEdge(subj, referrer, 'referrer');
    }
  }

  /** Attestation edges and subject-loop detection, once every node is known. */
  finish(): void {
    for (const [att, subj] of this.attests) {
      const a = this.nodes.get(att);
      if (a) {
        a.kind = 'attestation';
        delete a.platform;
      }
      if (this.nodes.has(subj)) this.addEdge(subj, att, 'attestation');
      else if (a) this.problem(a, { code: 'BLOB_MISSING', message: `This attestation describes ${shortDigest(subj)}, which is not in the source.` });
    }
    // Edges to digests that never became nodes (a tag index naming an absent subject) are dropped, with a note.
    for (let i = this.edges.length - 1; i >= 0; i--) {
      const e = this.edges[i]!;
      if (this.nodes.has(e.from) && this.nodes.has(e.to)) continue;
      this.edges.splice(i, 1);
      const n = this.nodes.get(e.to) ?? this.nodes.get(e.from);
      if (n) this.problem(n, { code: 'BLOB_MISSING', message: `This ${e.role} points at ${shortDigest(this.nodes.has(e.from) ? e.to : e.from)}, which is not in the source.` });
    }
    for (const [start, first] of this.subjects) {
      const chain = [start];
      let cur: Digest | undefined = first;
      while (cur !== undefined && !chain.includes(cur)) {
        chain.push(cur);
        cur = this.subjects.get(cur);
      }
      if (cur === start) {
        const n = this.nodes.get(start);
        if (n) this.problem(n, { code: 'SUBJECT_LOOP', message: `Following "subject" from ${shortDigest(start)} comes back to it (${chain.map((d) => shortDigest(d)).join(' → ')} → ${shortDigest(start)}); the referrers are shown but the loop is not followed.`, path: '/subject' });
      }
    }
  }
}

/** Builds the graph and keeps what was read, for callers that need documents or bytes. */
export async function buildGraphContext(source: ImageSource, opts: BuildOptions = {}): Promise<GraphContext> {
  const b = new Builder(source, opts.signal);
  if (opts.signal?.aborted) throw new ExplorerError('CANCELLED', 'Opening the image was cancelled.');
  const roots = await source.roots(opts.signal);
  const rootDigests: Digest[] = [];
  for (const r of roots) {
    const v: Visit = { hint: 'root', names: r.names };
    if (r.synthetic) v.synthetic = true;
    if (r.label) v.label = r.label;
    const d = await b.visit(r.descriptor, v);
    if (d && !rootDigests.includes(d)) rootDigests.push(d);
  }
  await b.walkSubjects();
  b.finish();
  const warnings = source.warnings?.() ?? [];
  const first = rootDigests[0] ? b.nodes.get(rootDigests[0]) : undefined;
  for (const w of warnings) first?.problems.push({ code: 'ARCHIVE_INVALID', message: w });
  const graph: ImageGraph = { nodes: [...b.nodes.values()], edges: b.edges, roots: rootDigests };
  return {
    source,
    graph,
    node: (d) => b.nodes.get(d),
    raw: (d) => b.raws.get(d),
    doc: (d) => b.docs.get(d),
    descriptor: (d) => b.descs.get(d),
  };
}

/** Reads a source into its descriptor graph (documents verified, layers pending). */
export async function buildGraph(source: ImageSource, opts: BuildOptions = {}): Promise<ImageGraph> {
  return (await buildGraphContext(source, opts)).graph;
}

/** History entries schema-validated per config (see validate()). */
const MAX_VALIDATED_HISTORY = 2000;
/** Problems listed per node: a hostile document can yield millions (one per history entry). */
const MAX_NODE_PROBLEMS = 500;
const problemKey = (p: Problem) => `${p.code}\u0000${p.message}\u0000${p.path ?? ''}`;

/** Nodes by digest, per graph (markVerified runs once per layer: a scan each time would be quadratic). */
const nodeIndex = new WeakMap<GraphNode[], Map<Digest, GraphNode>>();
function nodeOf(graph: ImageGraph, digest: Digest): GraphNode | undefined {
  let m = nodeIndex.get(graph.nodes);
  if (!m || m.size !== graph.nodes.length) nodeIndex.set(graph.nodes, (m = new Map(graph.nodes.map((n) => [n.digest, n]))));
  return m.get(digest);
}

/** Records the outcome of reading a layer later (layers engine): verified, or failed with its problem. */
export function markVerified(graph: ImageGraph, digest: Digest, state: VerifyState, problem?: Problem): GraphNode | undefined {
  const node = nodeOf(graph, digest);
  if (!node) return undefined;
  // What the graph builder found (missing, wrong size) stands: a later read cannot make it good.
  if (state === 'verified' && (node.verify === 'missing' || node.verify === 'failed')) return node;
  node.verify = state;
  if (problem && !node.problems.some((p) => p.code === problem.code && p.message === problem.message)) node.problems.push(problem);
  return node;
}
