import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareImages } from '../../../shared/compare/compare.js';
import { compareConfigs } from '../../../shared/compare/config.js';
import { alignHistory, historySteps } from '../../../shared/compare/history.js';
import { compareReport } from '../../../shared/compare/report.js';
import { openImage, type OpenedImage } from '../../../shared/layers/open-image.js';
import type { ImageConfig } from '../../../shared/oci/types.js';
import { cliRunner } from '../../helpers/cli.js';
import { dpkgStatus, file, kitLayout, whiteout, type KitImage } from '../packages/kit.js';

// compareImages on small images made here: config field by field, history on the shared base,
// merged trees of two images (same-layer entries skipped, the rest compared as layers/diff.ts does),
// packages, the Markdown report, the CLI's diff(1) exit status, and cancellation.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'oe-compare-unit-'));
const cacheDir = path.join(tmp, 'cache');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BASE = [file('etc/os-release', 'ID=test\n'), file('etc/app.conf', 'x=1\n'), file('var/lib/dpkg/status', dpkgStatus([{ name: 'libfoo', version: '1.0-1' }, { name: 'old', version: '3' }])), file('usr/bin/tool', Buffer.alloc(100), 0o755)];

const A: KitImage = {
  layers: [BASE, [file('srv/a.txt', 'same in both')]],
  config: { Env: ['PATH=/usr/bin', 'MODE=a'], Cmd: ['run'], User: 'app', ExposedPorts: { '80/tcp': {} }, Labels: { team: 'x', gone: 'y' } },
  history: [{ created_by: 'ADD rootfs' }, { created_by: 'ENV MODE=a', empty_layer: true }, { created_by: 'COPY a.txt' }],
};
const B: KitImage = {
  layers: [
    BASE,
    [file('srv/a.txt', 'same in both')],
    [
      file('etc/app.conf', 'x=22\n'),
      whiteout('usr/bin/tool'),
      file('srv/new.bin', Buffer.alloc(2048)),
      file('var/lib/dpkg/status', dpkgStatus([{ name: 'libfoo', version: '1.1-1' }, { name: 'new', version: '0.1' }])),
    ],
  ],
  config: { Env: ['PATH=/usr/bin', 'MODE=b', 'NEW=1'], Cmd: ['run', '--fast'], User: 'app', ExposedPorts: { '80/tcp': {}, '443/tcp': {} }, Labels: { team: 'x' }, Volumes: { '/data': {} } },
  history: [{ created_by: 'ADD rootfs' }, { created_by: 'ENV MODE=b', empty_layer: true }, { created_by: 'COPY a.txt' }, { created_by: 'RUN change' }],
};

async function open(img: KitImage): Promise<OpenedImage> {
  return openImage(`oci:${await kitLayout(img)}`, {}, { cacheDir, workers: 0 });
}

describe('compareImages', () => {
  it('finds every difference of config, history, files and packages, and nothing else', async () => {
    const [a, b] = [await open(A), await open(B)];
    try {
      const r = await compareImages(a.image, b.image);
      expect(r.config).toEqual([
        { field: 'env', key: 'MODE', before: 'a', after: 'b' },
        { field: 'env', key: 'NEW', after: '1' },
        { field: 'cmd', before: '["run"]', after: '["run","--fast"]' },
        { field: 'labels', key: 'gone', before: 'y' },
        { field: 'exposedPorts', key: '443/tcp', after: '' },
        { field: 'volumes', key: '/data', after: '' },
      ]);
      // The base and the COPY layer are the same bytes in both (same diff_id), but the ENV step between them differs.
      expect(r.history.sharedBaseLayers).toBe(1);
      expect(r.history.sharedLayers).toBe(2);
      expect(r.history.rows.map((row) => [row.a?.createdBy, row.b?.createdBy, row.shared])).toEqual([
        ['ADD rootfs', 'ADD rootfs', true],
        ['ENV MODE=a', 'ENV MODE=b', false],
        ['COPY a.txt', 'COPY a.txt', false],
        [undefined, 'RUN change', false],
      ]);
      expect(r.history.rows[2]!.b!.inOther).toBe(true);
      expect(r.files.entries.map((e) => [e.status, e.path, e.changes ?? [], e.sizeDelta])).toEqual([
        ['modified', 'etc/app.conf', ['content'], 1],
        ['added', 'srv/new.bin', [], 2048],
        ['removed', 'usr/bin/tool', [], -100],
        ['modified', 'var/lib/dpkg/status', ['content'], expect.any(Number)],
      ]);
      expect(r.files.summary).toMatchObject({ added: 1, modified: 2, removed: 1, addedBytes: 2048, removedBytes: 100 });
      expect(r.packages.added.map((p) => p.name)).toEqual(['new']);
      expect(r.packages.removed.map((p) => p.name)).toEqual(['old']);
      expect(r.packages.changed.map((c) => [c.after.name, c.before.version, c.after.version, c.direction])).toEqual([['libfoo', '1.0-1', '1.1-1', 'upgrade']]);
      expect(r.totals).toMatchObject({ different: true, configChanges: 6, packages: { added: 1, removed: 1, upgraded: 1, downgraded: 0 }, layers: { a: 2, b: 3, shared: 2, sharedBase: 1 } });
      const md = compareReport(r);
      expect(md).toContain('| env | MODE | `a` | `b` |');
      expect(md).toContain('| dpkg | libfoo | 1.0-1 | 1.1-1 | upgraded |');
      expect(md).toContain('| M | `/etc/app.conf` | file | content | +1 B |');
      expect(md).toContain('| D | `/usr/bin/tool` | file | removed | −100 B |');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('an image against itself, and against a copy in another layout, is empty', async () => {
    const [a, b] = [await open(B), await open(B)];
    try {
      for (const other of [a, b]) {
        const r = await compareImages(a.image, other.image);
        expect(r.identical).toBe(true);
        expect(r.totals.different).toBe(false);
        expect([r.config.length, r.files.entries.length, r.packages.added.length, r.packages.removed.length, r.packages.changed.length]).toEqual([0, 0, 0, 0, 0]);
        expect(r.history.rows.every((row) => row.shared)).toBe(true);
        expect(compareReport(r)).toContain('same image');
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a cancelled comparison stops with CANCELLED', async () => {
    const [a, b] = [await open(A), await open(B)];
    try {
      const ac = new AbortController();
      const orig = b.image.layers.openLayerBytes.bind(b.image.layers);
      b.image.layers.openLayerBytes = (...args) => (ac.abort(), orig(...args));
      await expect(compareImages(a.image, b.image, ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('config and history pieces', () => {
  it('platform and unset fields', () => {
    const c = (o: Partial<ImageConfig>): ImageConfig => ({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, ...o });
    expect(compareConfigs(c({ config: { WorkingDir: '/app' } }), c({ architecture: 'arm64', variant: 'v8', config: { Entrypoint: ['/bin/sh'] } }))).toEqual([
      { field: 'entrypoint', after: '["/bin/sh"]' },
      { field: 'workdir', before: '/app' },
      { field: 'platform', before: 'linux/amd64', after: 'linux/arm64/v8' },
    ]);
  });

  it('a config without history: one step per layer, still aligned by diff_id', () => {
    const cfg = (ids: string[]): ImageConfig => ({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ids } });
    const h = alignHistory(historySteps(cfg(['sha256:a', 'sha256:b']), [10, 20]), historySteps(cfg(['sha256:a', 'sha256:c']), [10, 30]));
    expect(h.sharedBaseLayers).toBe(1);
    expect(h.rows.map((r) => [r.a?.diffId, r.b?.diffId, r.shared])).toEqual([
      ['sha256:a', 'sha256:a', true],
      ['sha256:b', 'sha256:c', false],
    ]);
  });
});

describe('oci-explorer compare', () => {
  it('exit 0 same, 1 different, 2 trouble; usage errors are 2; --markdown is the report', async () => {
    const [la, lb] = [await kitLayout(A), await kitLayout(B)];
    const cli = cliRunner(cacheDir);
    const diff = await cli('compare', la, lb);
    expect(diff.code).toBe(1);
    expect(diff.out).toContain('~ dpkg libfoo 1.0-1 -> 1.1-1 (upgraded)');
    expect(diff.out).toContain('M  /etc/app.conf (content, +1 B)');
    expect((await cli('compare', la, `oci:${la}`)).code).toBe(0);
    const md = await cli('compare', '--markdown', la, lb);
    expect(md.out).toMatch(/^# /);
    const missing = await cli('compare', la, path.join(tmp, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^oci-explorer compare: /);
    expect((await cli('compare', la)).code).toBe(2);
    expect((await cli('compare', '--json', '--markdown', la, lb)).code).toBe(2);
  });
});

describe('oci-explorer packages', () => {
  it('a table, per-layer lines, --layer N with its changes, --json exactly the result', async () => {
    const lb = await kitLayout(B);
    const cli = cliRunner(cacheDir);
    const t = await cli('packages', lb);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^ECOSYSTEM\s+NAME\s+VERSION/);
    expect(t.out).toMatch(/dpkg\s+libfoo\s+1\.1-1\s+amd64\s+2\s/);
    expect(t.out).toContain('layer 2: 1 added, 1 removed, 1 upgraded');
    const l0 = await cli('packages', lb, '--layer', '0');
    expect(l0.out).toContain('+ dpkg old 3');
    const j = JSON.parse((await cli('packages', lb, '--json')).out) as { packages: { name: string; layer: number }[]; perLayer: unknown[] };
    expect(j.packages.map((p) => `${p.name}@${p.layer}`)).toEqual(['libfoo@2', 'new@2']);
    expect(j.perLayer.length).toBe(3);
    expect((await cli('packages', lb, '--layer', '9')).code).toBe(2);
    expect((await cli('packages', lb, '--ecosystem', 'cargo')).code).toBe(2);
    expect(JSON.parse((await cli('packages', lb, '--json', '--ecosystem', 'npm')).out).packages).toEqual([]);
  });
});
