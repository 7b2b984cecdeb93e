import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// @doyensec/electronegativity over the repository. Its SARIF is parsed here; every finding must be
// covered by a waiver with a written reason in electronegativity-waivers.json (rule + file).

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');

interface Waiver {
  rule: string;
  file: string;
  reason: string;
}
interface SarifResult {
  ruleId: string;
  message?: { text?: string };
  locations?: { physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } } }[];
}

describe('electronegativity', () => {
  it('finds nothing that is not waived with a reason', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oe-en-'));
    const sarif = path.join(dir, 'electronegativity.sarif');
    // Scan the repository's own files (tracked and new, minus .gitignore'd build output and node_modules),
    // copied as they are now, so the bundled dist/ is not reported twice under hashed names.
    const src = path.join(dir, 'repo');
    const { stdout } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
    const files = stdout.split('\0').filter((f) => f && /\.(ts|tsx|js|cjs|mjs|jsx|html|json)$/.test(f) && !f.startsWith('test/') && !f.startsWith('bench/'));
    for (const f of files) {
      const from = path.join(REPO, f);
      if (!existsSync(from)) continue;
      await mkdir(path.dirname(path.join(src, f)), { recursive: true });
      await copyFile(from, path.join(src, f));
    }
    const electronVersion = (JSON.parse(await readFile(path.join(REPO, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
    await run(path.join(REPO, 'node_modules/.bin/electronegativity'), ['-i', src, '-o', sarif, '-r', '-v', 'false', '-e', electronVersion], { cwd: src, maxBuffer: 64 * 1024 * 1024 });
    const report = JSON.parse(await readFile(sarif, 'utf8')) as { runs: { results: SarifResult[] }[] };
    expect(report.runs.length).toBeGreaterThan(0);
    const findings = report.runs.flatMap((r) => r.results).map((r) => {
      const loc = r.locations?.[0]?.physicalLocation;
      return { rule: r.ruleId, file: (loc?.artifactLocation?.uri ?? '').replace(/\\/g, '/'), line: loc?.region?.startLine, text: r.message?.text ?? '' };
    });

    // Canary that the scan really ran over our sources: the header-delivered CSP is always reported.
    expect(findings.map((f) => f.rule)).toContain('CSP_GLOBAL_CHECK');
    expect(files.length).toBeGreaterThan(20);
    const { waivers } = JSON.parse(await readFile(path.join(REPO, 'electronegativity-waivers.json'), 'utf8')) as { waivers: Waiver[] };
    for (const w of waivers) expect(w.reason.trim().length, `waiver ${w.rule} ${w.file} needs a written reason`).toBeGreaterThan(40);
    const waived = (f: { rule: string; file: string }) => waivers.some((w) => w.rule === f.rule && w.file === f.file);
    // Nothing from the shipped build or dependencies should be scanned as ours.
    expect(findings.filter((f) => f.file.includes('node_modules'))).toEqual([]);
    const open = findings.filter((f) => !waived(f)).map((f) => `${f.rule} ${f.file}:${f.line ?? '?'} ${f.text}`);
    expect(open, 'unwaived electronegativity findings').toEqual([]);
    const stale = waivers.filter((w) => !findings.some((f) => f.rule === w.rule && f.file === w.file));
    if (stale.length) console.warn(`electronegativity waivers that no longer match a finding (remove them): ${stale.map((w) => `${w.rule} ${w.file}`).join(', ')}`);
  });
});
