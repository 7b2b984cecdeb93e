// Reading image configs and attestations the way people read them. Pure: takes parsed JSON (unknown),
// never throws on odd shapes (bad input is normal input), returns only what is there.

export interface ReadableConfig {
  user?: string;
  workingDir?: string;
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  exposedPorts: string[];
  volumes: string[];
  labels: [string, string][];
  stopSignal?: string;
  os?: string;
  architecture?: string;
  created?: string;
  diffIds: string[];
}

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strs = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

export function readConfig(doc: unknown): ReadableConfig {
  const d = obj(doc) ?? {};
  const c = obj(d.config) ?? obj(d.container_config) ?? {};
  const labels = obj(c.Labels) ?? {};
  const out: ReadableConfig = {
    env: strs(c.Env) ?? [],
    exposedPorts: Object.keys(obj(c.ExposedPorts) ?? {}),
    volumes: Object.keys(obj(c.Volumes) ?? {}),
    labels: Object.entries(labels).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    diffIds: strs(obj(d.rootfs)?.diff_ids) ?? [],
  };
  const set = <K extends keyof ReadableConfig>(k: K, v: ReadableConfig[K] | undefined) => {
    if (v !== undefined && v !== '') out[k] = v;
  };
  set('user', str(c.User));
  set('workingDir', str(c.WorkingDir));
  set('entrypoint', strs(c.Entrypoint));
  set('cmd', strs(c.Cmd));
  set('stopSignal', str(c.StopSignal));
  set('os', str(d.os));
  set('architecture', str(d.architecture));
  set('created', str(d.created));
  return out;
}

/** A history step as a Dockerfile-ish line: strips the "/bin/sh -c #(nop) " noise docker adds. */
export function dockerfileLine(createdBy: string | undefined): string {
  if (!createdBy) return '(no command recorded)';
  let s = createdBy.trim();
  const nop = s.match(/^\/bin\/sh -c #\(nop\)\s*(.*)$/s);
  if (nop) return (nop[1] ?? '').trim();
  if (s.startsWith('/bin/sh -c ')) s = 'RUN ' + s.slice('/bin/sh -c '.length);
  s = s.replace(/\s*# buildkit$/, '');
  return s;
}

// --- attestations ---------------------------------------------------------------------------------

export interface DecodedStatement {
  statementType?: string;
  predicateType?: string;
  subjects: { name: string; digests: string[] }[];
  slsa?: { builder?: string; buildType?: string; materials: { uri: string; digests: string[] }[] };
  spdx?: { name?: string; version?: string; packages: { name: string; version?: string; purl?: string }[] };
}

function digestList(v: unknown): string[] {
  return Object.entries(obj(v) ?? {}).map(([alg, hex]) => `${alg}:${String(hex)}`);
}

/**
 * An in-toto Statement (possibly wrapped in a DSSE envelope with a base64 payload). `decodeBase64`
 * is injected so this stays free of Buffer/atob differences.
 */
export function decodeStatement(doc: unknown, decodeBase64?: (b64: string) => string): DecodedStatement | undefined {
  let d = obj(doc);
  if (!d) return undefined;
  if (typeof d.payload === 'string' && decodeBase64) {
    try {
      d = obj(JSON.parse(decodeBase64(d.payload)));
    } catch {
      return undefined;
    }
    if (!d) return undefined;
  }
  if (!('predicateType' in d) && !('subject' in d)) return undefined;
  const out: DecodedStatement = {
    subjects: (Array.isArray(d.subject) ? d.subject : []).map((s) => ({ name: str(obj(s)?.name) ?? '', digests: digestList(obj(s)?.digest) })),
  };
  const st = str(d._type);
  if (st) out.statementType = st;
  const pt = str(d.predicateType);
  if (pt) out.predicateType = pt;
  const pred = obj(d.predicate) ?? {};
  if (pt?.startsWith('https://slsa.dev/provenance/')) {
    // v0.2: builder.id, materials[]; v1: runDetails.builder.id, buildDefinition.resolvedDependencies[]
    const builder = str(obj(pred.builder)?.id) ?? str(obj(obj(pred.runDetails)?.builder)?.id);
    const buildType = str(pred.buildType) ?? str(obj(pred.buildDefinition)?.buildType);
    const mats = (Array.isArray(pred.materials) ? pred.materials : Array.isArray(obj(pred.buildDefinition)?.resolvedDependencies) ? (obj(pred.buildDefinition)!.resolvedDependencies as unknown[]) : []) as unknown[];
    out.slsa = { materials: mats.map((m) => ({ uri: str(obj(m)?.uri) ?? '', digests: digestList(obj(m)?.digest) })) };
    if (builder) out.slsa.builder = builder;
    if (buildType) out.slsa.buildType = buildType;
  }
  if (pt?.startsWith('https://spdx.dev/Document') || str(pred.spdxVersion)) {
    const pkgs = Array.isArray(pred.packages) ? pred.packages : [];
    out.spdx = {
      packages: pkgs.map((p) => {
        const o = obj(p) ?? {};
        const refs = Array.isArray(o.externalRefs) ? o.externalRefs : [];
        const purl = refs.map((r) => obj(r)).find((r) => r?.referenceType === 'purl')?.referenceLocator;
        const e: { name: string; version?: string; purl?: string } = { name: str(o.name) ?? '' };
        const v = str(o.versionInfo);
        if (v) e.version = v;
        if (typeof purl === 'string') e.purl = purl;
        return e;
      }),
    };
    const n = str(pred.name);
    if (n) out.spdx.name = n;
    const v = str(pred.spdxVersion);
    if (v) out.spdx.version = v;
  }
  return out;
}
