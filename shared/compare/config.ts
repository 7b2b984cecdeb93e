import { formatPlatform } from '../oci/platform.js';
import type { ImageConfig } from '../oci/types.js';

// What differs between two image configs, field by field as a reviewer reads them: each environment
// variable, label, exposed port and volume on its own; entrypoint, cmd, user, workdir, stop signal and
// the platform as whole values. `created` and history are not here (history is aligned apart).

export type ConfigField = 'env' | 'entrypoint' | 'cmd' | 'user' | 'workdir' | 'labels' | 'exposedPorts' | 'volumes' | 'stopSignal' | 'platform';

export interface ConfigChange {
  field: ConfigField;
  /** The variable, label, port or volume (absent for whole-value fields). */
  key?: string;
  /** Absent: the key or field is not set in that image. */
  before?: string;
  after?: string;
}

function envMap(env: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (Array.isArray(env)) {
    for (const e of env) {
      if (typeof e !== 'string') continue;
      const i = e.indexOf('=');
      m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
    }
  }
  return m;
}

function recordMap(r: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (r && typeof r === 'object' && !Array.isArray(r)) for (const [k, v] of Object.entries(r)) m.set(k, typeof v === 'string' ? v : '');
  return m;
}

function whole(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function platformOf(c: ImageConfig | undefined): string | undefined {
  if (!c?.os && !c?.architecture) return undefined;
  const p: { os: string; architecture: string; variant?: string; 'os.version'?: string } = { os: c.os, architecture: c.architecture };
  if (c.variant) p.variant = c.variant;
  const s = formatPlatform(p);
  return c['os.version'] ? `${s} (${c['os.version']})` : s;
}

export function compareConfigs(a: ImageConfig | undefined, b: ImageConfig | undefined): ConfigChange[] {
  const out: ConfigChange[] = [];
  const ca = a?.config ?? {};
  const cb = b?.config ?? {};
  const keyed = (field: ConfigField, ma: Map<string, string>, mb: Map<string, string>) => {
    for (const k of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
      const x = ma.get(k);
      const y = mb.get(k);
      if (x === y) continue;
      const c: ConfigChange = { field, key: k };
      if (x !== undefined) c.before = x;
      if (y !== undefined) c.after = y;
      out.push(c);
    }
  };
  const one = (field: ConfigField, x: string | undefined, y: string | undefined) => {
    if (x === y) return;
    const c: ConfigChange = { field };
    if (x !== undefined) c.before = x;
    if (y !== undefined) c.after = y;
    out.push(c);
  };
  keyed('env', envMap(ca.Env), envMap(cb.Env));
  one('entrypoint', whole(ca.Entrypoint), whole(cb.Entrypoint));
  one('cmd', whole(ca.Cmd), whole(cb.Cmd));
  one('user', whole(ca.User), whole(cb.User));
  one('workdir', whole(ca.WorkingDir), whole(cb.WorkingDir));
  keyed('labels', recordMap(ca.Labels), recordMap(cb.Labels));
  keyed('exposedPorts', recordMap(ca.ExposedPorts), recordMap(cb.ExposedPorts));
  keyed('volumes', recordMap(ca.Volumes), recordMap(cb.Volumes));
  one('stopSignal', whole(ca.StopSignal), whole(cb.StopSignal));
  one('platform', platformOf(a), platformOf(b));
  return out;
}
