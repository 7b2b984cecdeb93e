import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SETTINGS, type RecentSource, type Settings } from './contract.js';
import { SETTINGS } from './schemas.js';
import { fits } from './validate.js';

// Recent sources and settings, kept as two small JSON files in a state folder (Electron: userData;
// CLI/web: the platform config dir). Without a folder (tests) they live in memory. A damaged file is
// ignored field by field rather than losing everything.

export interface StateStore {
  recent(): Promise<RecentSource[]>;
  addRecent(r: RecentSource, limit: number): Promise<void>;
  clearRecent(): Promise<number>;
  settings(): Promise<Settings>;
  setSettings(patch: Partial<Settings>): Promise<Settings>;
}

/** Each field of `raw` that fits its schema in the contract (SETTINGS), the default for the others. */
export function sanitizeSettings(raw: unknown): Settings {
  const out: Settings = structuredClone(DEFAULT_SETTINGS);
  if (!raw || typeof raw !== 'object') return out;
  for (const [k, s] of Object.entries(SETTINGS.properties)) {
    const v = (raw as Record<string, unknown>)[k];
    if (v !== undefined && fits(s, v)) (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}

function sanitizeRecent(raw: unknown): RecentSource[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (r): r is RecentSource =>
      !!r && typeof r === 'object' && typeof r.spec === 'string' && typeof r.label === 'string' && typeof r.kind === 'string' && typeof r.lastOpened === 'string',
  );
}

export function createStateStore(dir?: string): StateStore {
  let recent: RecentSource[] | undefined;
  let settings: Settings | undefined;
  const file = (name: string) => (dir ? path.join(dir, name) : undefined);

  async function load(name: string): Promise<unknown> {
    const f = file(name);
    if (!f) return undefined;
    try {
      return JSON.parse(await fsp.readFile(f, 'utf8'));
    } catch {
      return undefined;
    }
  }
  // Write-then-rename so a crash never leaves half a file. Each write has its own temp name (created
  // exclusively: never through a planted link), and writes of one file run one after another, so
  // concurrent callers (web mode) neither collide on the temp file nor land out of order.
  const queues = new Map<string, Promise<void>>();
  function save(name: string, value: unknown): Promise<void> {
    const f = file(name);
    if (!f) return Promise.resolve();
    const text = JSON.stringify(value, null, 2);
    const run = async () => {
      await fsp.mkdir(path.dirname(f), { recursive: true });
      const tmp = `${f}.${process.pid}.${randomUUID()}.tmp`;
      try {
        await fsp.writeFile(tmp, text, { flag: 'wx', mode: 0o600 });
        await fsp.rename(tmp, f);
      } catch (e) {
        await fsp.rm(tmp, { force: true });
        throw e;
      }
    };
    const next = (queues.get(f) ?? Promise.resolve()).then(run, run);
    const tail = next.catch(() => undefined);
    queues.set(f, tail);
    void tail.then(() => {
      if (queues.get(f) === tail) queues.delete(f);
    });
    return next;
  }

  return {
    async recent() {
      recent ??= sanitizeRecent(await load('recent.json'));
      return recent.map((r) => ({ ...r }));
    },
    async addRecent(r, limit) {
      const list = (await this.recent()).filter((x) => x.spec !== r.spec);
      recent = [r, ...list].slice(0, limit);
      await save('recent.json', recent);
    },
    async clearRecent() {
      const n = (await this.recent()).length;
      recent = [];
      await save('recent.json', recent);
      return n;
    },
    async settings() {
      settings ??= sanitizeSettings(await load('settings.json'));
      return structuredClone(settings);
    },
    async setSettings(patch) {
      settings = sanitizeSettings({ ...(await this.settings()), ...patch });
      await save('settings.json', settings);
      return structuredClone(settings);
    },
  };
}
