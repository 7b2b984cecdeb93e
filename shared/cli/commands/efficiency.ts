import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ExplorerError } from '../../errors.js';
import type { EfficiencyResult } from '../../layers/efficiency.js';
import { IMAGE_OPTIONS, parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';
import { openLayersForCli } from './_layers.js';
import { escapeForDisplay, escapeText } from '../../tar/names.js';

export const EFFICIENCY_USAGE = `Usage: oci-explorer efficiency <source> [--json] [--ci-config FILE] [--top N]

dive's efficiency score and wasted bytes (same figures as dive), plus "reclaimable" bytes: what the
layers store that the final image does not show (what squashing saves; unlike dive's wasted bytes it
does not count the copy you keep, dive #684), and the paths that waste the most.
--ci-config FILE  dive's .dive-ci rules (rules: lowestEfficiency, highestWastedBytes,
                  highestUserWastedPercent; "disabled" turns one off); exit 1 when a rule fails.`;

export interface CiRules {
  lowestEfficiency?: number;
  highestWastedBytes?: number;
  highestUserWastedPercent?: number;
}

/** go-humanize ParseBytes as dive uses it: "20MB" = 20e6, "20MiB" = 20·2^20, plain numbers are bytes. */
export function parseBytes(s: string): number {
  const m = /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(s.replace(/,/g, ''));
  if (!m) throw new ExplorerError('INVALID_ARGUMENT', `"${s}" is not a size: write e.g. 20MB, 1.5GiB or 1000.`);
  const unit = m[2]!.toLowerCase().replace(/b$/, '');
  const si: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
  const iec: Record<string, number> = { ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40, pi: 2 ** 50 };
  const f = si[unit] ?? iec[unit];
  if (f === undefined) throw new ExplorerError('INVALID_ARGUMENT', `"${s}" has an unknown unit: use B, KB, MB, GB, KiB, MiB or GiB.`);
  return Math.round(Number(m[1]) * f);
}

/** Reads the `rules:` block of a .dive-ci file (a small YAML subset: `key: value` lines). */
export function parseCiConfig(text: string, file: string): CiRules {
  const rules: CiRules = {};
  let inRules = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (!line.trim()) continue;
    const m = /^(\s*)([A-Za-z]+)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new ExplorerError('INVALID_ARGUMENT', `${file}: cannot read the line "${raw.trim()}"; a .dive-ci file holds "rules:" and "key: value" lines.`);
    const [, indent, key, valueRaw] = m;
    const value = valueRaw!.trim().replace(/^["']|["']$/g, '');
    if (!indent) {
      inRules = key === 'rules';
      continue;
    }
    if (!inRules || value === '' || value.toLowerCase() === 'disabled') continue;
    const num = (): number => {
      const v = Number(value);
      if (!Number.isFinite(v)) throw new ExplorerError('INVALID_ARGUMENT', `${file}: ${key} must be a number (or "disabled"), not "${value}".`);
      return v;
    };
    if (key === 'lowestEfficiency') rules.lowestEfficiency = num();
    else if (key === 'highestWastedBytes') rules.highestWastedBytes = parseBytes(value);
    else if (key === 'highestUserWastedPercent') rules.highestUserWastedPercent = num();
    else throw new ExplorerError('INVALID_ARGUMENT', `${file}: unknown rule "${key}" (known: lowestEfficiency, highestWastedBytes, highestUserWastedPercent).`);
  }
  return rules;
}

export function evaluateRules(r: EfficiencyResult, rules: CiRules): { rule: string; pass: boolean; detail: string }[] {
  const out: { rule: string; pass: boolean; detail: string }[] = [];
  if (rules.lowestEfficiency !== undefined) out.push({ rule: 'lowestEfficiency', pass: r.score >= rules.lowestEfficiency, detail: `efficiency ${r.score.toFixed(4)} (minimum ${rules.lowestEfficiency})` });
  if (rules.highestWastedBytes !== undefined) out.push({ rule: 'highestWastedBytes', pass: r.wastedBytes <= rules.highestWastedBytes, detail: `wasted ${r.wastedBytes} B (maximum ${rules.highestWastedBytes} B)` });
  if (rules.highestUserWastedPercent !== undefined) out.push({ rule: 'highestUserWastedPercent', pass: r.wastedUserPercent <= rules.highestUserWastedPercent, detail: `wasted/user size ${r.wastedUserPercent.toFixed(4)} (maximum ${rules.highestUserWastedPercent})` });
  return out;
}

export async function runEfficiency(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { ...IMAGE_OPTIONS, json: { type: 'boolean' }, 'ci-config': { type: 'string' }, top: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(EFFICIENCY_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 1) throw usageError('efficiency needs one <source>.');
  let rules: CiRules | undefined;
  if (typeof args.options['ci-config'] === 'string') {
    const file = path.resolve(io.cwd, args.options['ci-config']);
    const text = await fsp.readFile(file, 'utf8').catch(() => {
      throw new ExplorerError('INVALID_ARGUMENT', `Cannot read the CI config ${file}; check the path.`);
    });
    rules = parseCiConfig(text, file);
  }
  const top = args.options.top === undefined ? 10 : Number(args.options.top);
  if (!Number.isInteger(top) || top < 0) throw usageError('--top takes a whole number.');
  const r = await openLayersForCli(args, io);
  let failed = false;
  try {
    const e = r.layers.efficiency();
    const results = rules ? evaluateRules(e, rules) : [];
    failed = results.some((x) => !x.pass);
    if (args.options.json) {
      io.stdout(JSON.stringify({ score: e.score, wastedBytes: e.wastedBytes, wastedUserPercent: e.wastedUserPercent, reclaimableBytes: e.reclaimableBytes, sizeBytes: e.sizeBytes, userSizeBytes: e.userSizeBytes, topWasted: e.inefficiencies.slice(0, top), ...(rules ? { rules: results, pass: !failed } : {}) }, null, 2) + '\n');
    } else {
      const lines = [
        `efficiency:          ${(e.score * 100).toFixed(4)} %`,
        `wasted bytes (dive): ${e.wastedBytes}`,
        `user wasted percent: ${(e.wastedUserPercent * 100).toFixed(4)} %`,
        `reclaimable bytes:   ${e.reclaimableBytes} (stored in layers, not in the final image: what squashing saves)`,
        '',
        'count  wasted      reclaimable  path',
        ...e.inefficiencies.slice(0, top).map((w) => `${String(w.count).padStart(5)}  ${String(w.cumulativeSize).padStart(10)}  ${String(w.reclaimable).padStart(11)}  ${escapeForDisplay(w.path)}`),
      ];
      for (const x of results) lines.push(escapeText(`${x.pass ? 'PASS' : 'FAIL'}  ${x.rule}: ${x.detail}`));
      io.stdout(lines.join('\n') + '\n');
    }
  } finally {
    await r.close();
  }
  return failed ? 1 : 0;
}
