import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fx, noSharedFixtures } from '../helpers/fixtures.js';
import { writeBigLayout, writeDamagedLayout, writeViewerLayout } from './big-layout.js';
import { ARTIFACTS, buildRenderer, openApp, type WebMode } from './helpers.js';
import { addedRemoved, dockerSaveFacts, layoutChanges, layoutLayerBlobs, listGzipLayer, mergedPaths, type SaveFacts, type TarEntryFacts } from './tar-oracle.js';
import type { RealisticFacts } from '../fixtures/types.js';

// The explorer UI in web mode against the real core. Every count the UI shows is compared with facts
// read by GNU tar or from the fixture builder's facts files, never with our core's own answers.

const DIVE = fx('dive/.data/test-docker-image.tar');
// Debian's chromium package (which these tests drive) ships this PNG.
const CHROMIUM_ICON = '/usr/share/icons/hicolor/48x48/apps/chromium.png';

async function shot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

const num = (s: string) => Number(s.replace(/[^\d]/g, ''));

/** The row of `p` in the virtualized tree: scrolls the list page by page until it is rendered. */
async function treeRow(page: Page, p: string) {
  const loc = page.locator(`.tree-row[data-path="${p}"]`);
  const list = page.locator('.tree-list');
  await list.evaluate((el) => (el.scrollTop = 0));
  for (let i = 0; i < 200 && (await loc.count()) === 0; i++) {
    const moved = await list.evaluate((el) => {
      const before = el.scrollTop;
      el.scrollTop += el.clientHeight;
      return el.scrollTop !== before;
    });
    if (!moved) break;
    await page.waitForTimeout(30);
  }
  return loc;
}

describe.skipIf(noSharedFixtures)('explorer UI (web mode, dive test image)', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let facts: SaveFacts;
  const merged: Set<string>[] = [];

  beforeAll(async () => {
    buildRenderer();
    facts = dockerSaveFacts(DIVE);
    for (let i = 0; i < facts.layers.length; i++) merged.push(mergedPaths(facts.layers, i));
    ({ web, browser, page } = await openApp(DIVE));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('shows the descriptor graph: the manifest and one node per layer', async () => {
    await page.locator('.gnode[data-kind="manifest"]').first().waitFor();
    // docker save layers are uncompressed tars: their digest is the sha256 of the tar bytes.
    expect(await page.locator('.gnode[data-kind="layer"]').count()).toBe(facts.layers.length);
    await page.locator('.gnode[data-kind="manifest"]').first().click();
    await expect.poll(() => page.locator('.inspector').textContent()).toContain('dive-test:latest');
    // docker save has no manifest blob: the node and the Inspector say it was synthesized from manifest.json.
    expect(await page.locator('.gnode[data-kind="manifest"]').first().locator('.badge.synthetic').textContent()).toBe('from manifest.json');
    expect(await page.getByTestId('synthetic-note').textContent()).toMatch(/^Synthesized .*manifest\.json\[0\]/);
    // Once the image is indexed its layers have been read, so their digests are verified.
    await expect.poll(() => page.locator('.gnode[data-kind="layer"] .verify-verified').count()).toBe(facts.layers.length);
    await shot(page, 'graph');
  });

  it('click a layer in the graph → its files, with the right counts', async () => {
    const layer = 2; // RUN mkdir -p /root/example/really/nested
    const digest = 'sha256:' + createHash('sha256').update(readLayerBytes(DIVE, layer)).digest('hex');
    await page.locator(`.gnode[data-digest="${digest}"]`).click();
    // The inspector names the step that made the layer (the config's history, read here with tar).
    const steps = configHistory(DIVE).filter((h) => !h.empty_layer);
    const cmd = steps[layer]!.created_by!.replace(/^\/bin\/sh -c /, '');
    await expect.poll(() => page.locator('.layer-facts').textContent()).toContain(cmd);
    await page.getByRole('button', { name: `Files of layer ${layer + 1}` }).click();
    const want = addedRemoved(merged[layer - 1]!, merged[layer]!);
    const summary = page.getByLabel('Diff summary');
    await expect.poll(() => summary.textContent()).toContain(`+${want.added} added`);
    expect(await summary.textContent()).toContain(`−${want.removed} removed`);
    // The folders holding the changes are opened: every added path is a highlighted row.
    await expect.poll(() => page.locator('.tree-row[data-change="added"]').count()).toBe(want.added);
    await shot(page, 'layer-tree');
  });

  it('filter "removed" lists exactly the paths the layer removed, with the layer that removed them', async () => {
    const layer = facts.layers.findIndex((l, i) => i > 0 && addedRemoved(merged[i - 1]!, merged[i]!).removed > 0);
    expect(layer).toBeGreaterThan(0);
    const want = addedRemoved(merged[layer - 1]!, merged[layer]!);
    await page.locator(`.layer-row[data-layer="${layer}"]`).click();
    await page.getByRole('group', { name: 'Show changes' }).getByRole('button', { name: 'removed' }).click();
    await page.getByRole('button', { name: 'Expand', exact: true }).click();
    await expect.poll(() => page.locator('.tree-row[data-change="removed"]').count()).toBe(want.removed);
    expect(await page.locator('.tree-row[data-change="removed"] .removed-by').first().textContent()).toContain(`removed in layer ${layer + 1}`);
    await shot(page, 'filter-removed');
    await page.getByRole('group', { name: 'Show changes' }).getByRole('button', { name: 'removed' }).click();
  });

  it('search in the final image: hit count and next/previous', async () => {
    await page.locator('.layer-row.final').click();
    const final = merged[merged.length - 1]!;
    const want = [...final].filter((p) => p.endsWith('.txt')).length;
    await page.getByLabel('Search paths').fill('*.txt');
    await page.getByLabel('Search paths').press('Enter');
    await expect.poll(() => page.locator('.hit-count').textContent()).toBe(`1 / ${want}`);
    await page.getByRole('button', { name: 'Next match' }).click();
    await expect.poll(() => page.locator('.hit-count').textContent()).toBe(`2 / ${want}`);
    const sel = await page.locator('.tree-row.selected').getAttribute('data-path');
    expect(final.has(sel!)).toBe(true);
    expect(sel!.endsWith('.txt')).toBe(true);
    await shot(page, 'search');
    await page.getByRole('button', { name: 'Clear search' }).click();
  });

  it('opens a text file and a binary', async () => {
    const last = facts.layers.findLastIndex((l) => l.includes('/somefile.txt'));
    const text = facts.read(last, '/somefile.txt').toString('utf8');
    await (await treeRow(page, '/somefile.txt')).click();
    await expect.poll(() => page.locator('.viewer .code').textContent()).toBe(text);
    await shot(page, 'text-file');

    // A shell script is highlighted (shiki in a worker) and still shows the exact bytes.
    const script = facts.layers.findLastIndex((l) => l.includes('/root/.data/tag.sh'));
    await page.getByLabel('Search paths').fill('tag.sh');
    await page.getByLabel('Search paths').press('Enter');
    await (await treeRow(page, '/root/.data/tag.sh')).click();
    await expect.poll(() => page.locator('.viewer .code').getAttribute('data-highlighted')).toBe('yes');
    expect(await page.locator('.viewer .code').textContent()).toBe(facts.read(script, '/root/.data/tag.sh').toString('utf8'));
    await shot(page, 'highlighted-file');
    await page.getByRole('button', { name: 'Clear search' }).click();

    await (await treeRow(page, '/bin')).click();
    const busybox = facts.read(0, '/bin/busybox');
    await (await treeRow(page, '/bin/busybox')).click();
    const firstRow = [...busybox.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    await expect.poll(() => page.locator('[aria-label="Hex view"] .hex-row').first().textContent()).toContain(firstRow);
    await shot(page, 'binary-file');
    await (await treeRow(page, '/bin')).click();
  });

  it('"aggregated" shows everything changed since the base layer', async () => {
    const n = 9;
    await page.locator(`.layer-row[data-layer="${n}"]`).click();
    await page.getByRole('button', { name: 'Aggregated' }).click();
    const want = addedRemoved(merged[0]!, merged[n]!);
    const summary = page.getByLabel('Diff summary');
    await expect.poll(() => summary.textContent()).toContain(`+${want.added} added`);
    expect(await summary.textContent()).toContain(`−${want.removed} removed`);
    await shot(page, 'aggregated');
    await page.getByRole('button', { name: 'This layer' }).click();
  });

  it('compares two layers', async () => {
    const [a, b] = [3, 7];
    await page.getByLabel(`Pick layer ${a + 1} to compare`).check();
    await page.getByLabel(`Pick layer ${b + 1} to compare`).check();
    await page.getByRole('button', { name: `Compare layers ${a + 1} and ${b + 1}` }).click();
    const want = addedRemoved(merged[a]!, merged[b]!);
    const summary = page.getByLabel('Diff summary');
    await expect.poll(() => summary.textContent()).toContain(`+${want.added} added`);
    expect(await summary.textContent()).toContain(`−${want.removed} removed`);
    await shot(page, 'compare');
  });

  it("efficiency shows dive's figures for dive's test image", async () => {
    await page.getByRole('tab', { name: 'Efficiency' }).click();
    // From dive's own CI expectations for this image (.data/.dive-ci): efficiency 0.98442, 32,025 wasted bytes.
    await expect.poll(() => page.getByTestId('eff-score').locator('.figure-value').textContent()).toBe('98.44 %');
    expect(num((await page.getByTestId('eff-wasted').locator('.figure-value').textContent())!)).toBe(32025);
    await shot(page, 'efficiency');
    // A wasted path → the tree, selected.
    const first = page.locator('.wasted-table tbody tr').first().locator('button');
    const p = await first.textContent();
    await first.click();
    await expect.poll(() => page.locator('.tree-row.selected').getAttribute('data-path')).toBe(p);
  });

  it('treemap of the final image: top-level tiles, wasted folders tinted, hover shows path + size, click → tree', async () => {
    await page.getByRole('tab', { name: 'Efficiency' }).click();
    const map = page.getByLabel('Treemap of the final image by size');
    await map.locator('.tm-tile').first().waitFor();
    const final = merged[merged.length - 1]!;
    const top = await map.locator('.tm-tile.d0').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!));
    expect(top.length).toBeGreaterThan(0);
    for (const p of top) expect(final.has(p), p).toBe(true);
    expect(top.every((p) => p.lastIndexOf('/') === 0)).toBe(true);
    // The folder holding the biggest wasted path is tinted.
    const wasted = (await page.locator('.wasted-table tbody tr').first().locator('button').textContent())!;
    const holder = '/' + wasted.split('/')[1]!;
    await expect.poll(() => map.locator(`.tm-tile.d0[data-path="${holder}"]`).getAttribute('class')).toContain('wasted');
    // Hover a second-level tile: its path and size in the status line; click: selected in the final tree.
    const tile = map.locator('.tm-tile.d1.file').first();
    const p = (await tile.getAttribute('data-path'))!;
    await tile.hover();
    await expect.poll(() => page.getByTestId('treemap-status').textContent()).toContain(p);
    expect(await page.getByTestId('treemap-status').textContent()).toMatch(/\d+(\.\d+)? (B|KB|MB|GB|KiB|MiB|GiB)/);
    await shot(page, 'treemap');
    await tile.click();
    await expect.poll(() => page.locator('.tree-row.selected').getAttribute('data-path')).toBe(p);
  });

  it('themes: follows the OS, or the one chosen', async () => {
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await bg();
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(bg).not.toBe(light);
    const dark = await bg();
    await page.getByRole('tab', { name: 'Graph' }).click();
    await shot(page, 'dark-graph');
    await page.getByLabel('Theme').selectOption('light');
    await expect.poll(bg).toBe(light);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByLabel('Theme').selectOption('dark');
    await expect.poll(bg).toBe(dark);
    await page.getByLabel('Theme').selectOption('system');
    await expect.poll(bg).toBe(light);
    await page.getByRole('tab', { name: 'Layers & files' }).click();
  });

  it('opens a second source (multi-platform index) and switches between them', async () => {
    const fixtures = inject('fixtures');
    const mp = JSON.parse(readFileSync(fixtures.multiplatform.facts, 'utf8')) as { indexDigest: string; images: { manifestDigest: string; platform: { os: string; architecture: string; variant?: string } }[] };
    await page.getByRole('button', { name: 'Open a source' }).click();
    await shot(page, 'start');
    await page.getByLabel('Path to open').fill(fixtures.multiplatform.layout);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator(`.gnode[data-digest="${mp.indexDigest}"]`).waitFor();
    for (const img of mp.images) {
      const n = page.locator(`.gnode[data-digest="${img.manifestDigest}"]`);
      expect(await n.locator('.badge.platform').textContent()).toBe(`${img.platform.os}/${img.platform.architecture}${img.platform.variant ? '/' + img.platform.variant : ''}`);
    }
    // The layout's root is its index.json (no blob of its own): labelled so on the node and in the Inspector.
    const root = page.locator('.gnode[data-kind="index"]').filter({ has: page.locator('.badge.synthetic', { hasText: 'index.json' }) });
    expect(await root.count()).toBe(1);
    await root.click();
    await expect.poll(() => page.getByTestId('synthetic-note').textContent()).toContain("layout's index.json");
    await shot(page, 'graph-index');
    // Keyboard: → first child (the config, listed before layers), ← back, ↓ the sibling manifest.
    const [m0, m1] = mp.images as unknown as { manifestDigest: string; configDigest: string }[];
    await page.locator(`.gnode[data-digest="${m0!.manifestDigest}"]`).click();
    await page.locator('.graph-canvas').focus();
    const selected = () => page.locator('.gnode.selected').getAttribute('data-digest');
    await page.keyboard.press('ArrowRight');
    await expect.poll(selected).toBe(m0!.configDigest);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(selected).toBe(m0!.manifestDigest);
    await page.keyboard.press('ArrowDown');
    await expect.poll(selected).toBe(m1!.manifestDigest);
    const tabs = page.getByRole('tablist', { name: 'Open sources' }).getByRole('tab');
    expect(await tabs.count()).toBe(2);
    await tabs.first().click();
    // Each source keeps its own view: the dive image was left on its files.
    await expect.poll(() => page.getByRole('tab', { name: 'Layers & files' }).getAttribute('aria-selected')).toBe('true');
    await page.getByRole('tab', { name: 'Graph' }).click();
    await expect.poll(() => page.locator('.gnode[data-kind="manifest"] .gnode-name').first().textContent()).toContain('dive-test:latest');
    await tabs.nth(1).click();
    await page.locator(`.gnode[data-digest="${mp.indexDigest}"]`).waitFor();
  });

  it('decodes attestations: SLSA builder and the SPDX package list', async () => {
    const fixtures = inject('fixtures');
    const at = JSON.parse(readFileSync(fixtures.attested.facts, 'utf8')) as {
      image: { manifestDigest: string };
      attestation: { manifestDigest: string; layers: { digest: string; predicateType: string }[] };
      spdxPackages: number;
    };
    await page.getByRole('button', { name: 'Open a source' }).click();
    await page.getByLabel('Path to open').fill(fixtures.attested.layout);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const att = page.locator(`.gnode[data-digest="${at.attestation.manifestDigest}"]`);
    await att.waitFor();
    expect(await att.getAttribute('data-kind')).toBe('attestation');
    // Attached to its subject: an edge from the image manifest to the attestation manifest.
    // (edges are drawn once the nodes have been measured, a frame or two after them)
    await expect.poll(() => page.locator(`.react-flow__edge[data-id^="${at.image.manifestDigest}>${at.attestation.manifestDigest}:attestation"]`).count()).toBe(1);
    for (const l of at.attestation.layers) {
      // The canvas may still be panning from the previous selection: click until this node is the selected one.
      const node = page.locator(`.gnode[data-digest="${l.digest}"]`);
      await expect
        .poll(async () => {
          await node.click();
          return page.locator('.gnode.selected').getAttribute('data-digest');
        })
        .toBe(l.digest);
      await expect.poll(() => page.locator('.attestation').textContent()).toContain(l.predicateType);
      if (l.predicateType.startsWith('https://spdx.dev/')) {
        expect(await page.locator('.attestation h3').last().textContent()).toContain(`SBOM packages (${at.spdxPackages})`);
        await shot(page, 'attestation-sbom');
      } else {
        expect(await page.locator('.attestation').textContent()).toContain('builder');
        await shot(page, 'attestation-slsa');
      }
    }
  });

  it('file viewer: an image, a symlink followed, a big binary paged by range; tree keys; Save as / Extract folder', async () => {
    const png = readFileSync(CHROMIUM_ICON);
    const big = randomBytes(600_000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-viewer-'));
    try {
      await writeViewerLayout(dir, png, big);
      await page.getByRole('button', { name: 'Open a source' }).click();
      await page.getByLabel('Path to open').fill(dir);
      await page.getByRole('button', { name: 'Open', exact: true }).click();
      await page.getByRole('tab', { name: 'Layers & files' }).click();
      await (await treeRow(page, '/srv')).click();

      await (await treeRow(page, '/srv/logo.png')).click();
      const img = page.locator('.image-view img');
      await img.waitFor();
      // PNG IHDR: width and height are big-endian u32 at bytes 16 and 20.
      await expect.poll(() => img.evaluate((el: HTMLImageElement) => `${el.naturalWidth}x${el.naturalHeight}`)).toBe(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`);
      await shot(page, 'image-file');

      await (await treeRow(page, '/srv/current')).click();
      await expect.poll(() => page.locator('.viewer .code').textContent()).toBe('hello from the viewer fixture\n');
      await page.getByRole('button', { name: 'Follow link' }).click();
      await expect.poll(() => page.locator('.tree-row.selected').getAttribute('data-path')).toBe('/srv/readme.txt');

      await (await treeRow(page, '/srv/big.bin')).click();
      const hexOf = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
      await expect.poll(() => page.locator('.pager').textContent()).toContain('bytes 0–262,144 of 600,000');
      await page.getByRole('button', { name: 'Next page' }).click();
      await expect.poll(() => page.locator('.pager').textContent()).toContain('bytes 262,144–524,288 of 600,000');
      const row = await page.locator('[aria-label="Hex view"] .hex-row').first().textContent();
      expect(row).toContain('00040000');
      expect(row).toContain(hexOf(big.subarray(262_144, 262_148)));
      await shot(page, 'big-binary');

      // Keyboard: Home → /srv, ↓ → its first child, ← → back to the folder, ← again collapses it.
      await page.locator('.tree-list').focus();
      const sel = () => page.locator('.tree-row.selected').getAttribute('data-path');
      await page.keyboard.press('Home');
      await expect.poll(sel).toBe('/srv');
      await page.keyboard.press('ArrowDown');
      await expect.poll(sel).toBe('/srv/big.bin');
      await page.keyboard.press('ArrowLeft');
      await expect.poll(sel).toBe('/srv');
      await page.keyboard.press('ArrowLeft');
      await expect.poll(() => page.locator('.tree-row').count()).toBe(1);
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => page.locator('.tree-row').count()).toBe(5);

      // Save as… and Extract folder… write on the machine running the core (here: this one).
      const out = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-save-'));
      try {
        await (await treeRow(page, '/srv/readme.txt')).click();
        await page.getByRole('button', { name: 'Save as…' }).click();
        await page.getByLabel('Target path on the server').fill(path.join(out, 'readme-copy.txt'));
        await page.getByRole('button', { name: 'Save', exact: true }).click();
        await expect.poll(() => page.locator('.viewer .save [role="status"]').textContent()).toContain('Saved 30 bytes');
        expect(readFileSync(path.join(out, 'readme-copy.txt'), 'utf8')).toBe('hello from the viewer fixture\n');

        await (await treeRow(page, '/srv')).click();
        await page.getByRole('button', { name: 'Extract folder…' }).click();
        await page.getByLabel('Target path on the server').fill(path.join(out, 'srv'));
        await page.getByRole('button', { name: 'Extract', exact: true }).click();
        await expect.poll(() => page.locator('.viewer .save [role="status"]').textContent()).toContain('Extracted');
        // The subtree keeps its path from the image root inside the target folder.
        expect(readFileSync(path.join(out, 'srv', 'srv', 'big.bin')).equals(big)).toBe(true);
        expect(readFileSync(path.join(out, 'srv', 'srv', 'logo.png')).equals(png)).toBe(true);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a dropped path opens; problems are shown on their node and field: a missing layer blob, a schema error', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-damaged-'));
    try {
      const d = await writeDamagedLayout(dir);
      // Opened by dropping its path (as text) on the start screen.
      await page.getByRole('button', { name: 'Open a source' }).click();
      const dt = await page.evaluateHandle((p) => {
        const t = new DataTransfer();
        t.setData('text/plain', p);
        return t;
      }, dir);
      await page.dispatchEvent('.start', 'dragover', { dataTransfer: dt });
      await page.dispatchEvent('.start', 'drop', { dataTransfer: dt });
      const missing = page.locator(`.gnode[data-digest="${d.layers[1]}"]`);
      await missing.waitFor();
      expect(await missing.locator('.badge.problem').allTextContents()).toContain('missing');
      expect(await page.locator(`.gnode[data-digest="${d.layers[0]}"] .badge.problem`).count()).toBe(0);
      const manifest = page.locator(`.gnode[data-digest="${d.manifest}"]`);
      expect(await manifest.locator('.badge.problem').allTextContents()).toContain('schema error');
      await manifest.click();
      // The problem names the field, and the raw JSON marks the line holding it.
      await expect.poll(() => page.locator('.inspector .problems').textContent()).toContain('/annotations/org.example.count');
      expect(await page.locator('.json-line.problem-line').first().textContent()).toContain('"org.example.count": 3');
      await page.locator('.inspector .problems').getByRole('button', { name: '/annotations/org.example.count' }).click();
      const inView = () =>
        page.locator('.json-line.problem-line').first().evaluate((el) => {
          const r = el.getBoundingClientRect();
          return r.top >= 0 && r.bottom <= window.innerHeight;
        });
      await expect.poll(inView).toBe(true);
      await shot(page, 'problems');
      // On the files side the layer's row carries the core's sentence, naming the missing blob.
      await page.getByRole('tab', { name: 'Layers & files' }).click();
      await expect.poll(() => page.locator('.layer-row[data-layer="1"] .row-error').textContent()).toContain(d.layers[1]!.slice(7, 19));
      expect(await page.locator('.tree-pane .warning-banner').textContent()).toContain('Layer 2');
      await shot(page, 'problems-files');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unreadable path shows the core\'s sentence on the start screen', async () => {
    await page.getByRole('button', { name: 'Open a source' }).click();
    await page.getByLabel('Path to open').fill('/nonexistent/image.tar');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const alert = page.locator('.start .error-banner');
    await alert.waitFor();
    expect((await alert.textContent())!.length).toBeGreaterThan(20);
    await shot(page, 'open-error');
    // Recent lists what was opened in this session (the core keeps it); Clear empties it.
    await expect.poll(() => page.getByRole('region', { name: 'Recent' }).textContent()).toContain(DIVE);
    await page.getByRole('region', { name: 'Recent' }).getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Recent' }).textContent()).toContain('Nothing opened yet.');
  });
});

function readLayerBytes(archive: string, layer: number): Buffer {
  const manifest = JSON.parse(execTar(['-xOf', archive, 'manifest.json']).toString()) as { Layers: string[] }[];
  return execTar(['-xOf', archive, manifest[0]!.Layers[layer]!]);
}

function configHistory(archive: string): { created_by?: string; empty_layer?: boolean }[] {
  const manifest = JSON.parse(execTar(['-xOf', archive, 'manifest.json']).toString()) as { Config: string }[];
  return (JSON.parse(execTar(['-xOf', archive, manifest[0]!.Config]).toString()) as { history: { created_by?: string; empty_layer?: boolean }[] }).history;
}

function execTar(args: string[]): Buffer {
  return execFileSync('tar', args, { maxBuffer: 1 << 30 });
}

/** Every row of the virtualized tree (path → change), read by scrolling the list from top to bottom. */
async function allRows(page: Page): Promise<Map<string, string>> {
  const want = Number(await page.locator('.tree-list').getAttribute('data-rows'));
  const rows = await page.locator('.tree-list').evaluate(async (el) => {
    const out: [string, string][] = [];
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null))));
    el.scrollTop = 0;
    for (let i = 0; i < 10_000; i++) {
      await frame();
      for (const r of el.querySelectorAll('.tree-row')) out.push([r.getAttribute('data-path')!, r.getAttribute('data-change') ?? '']);
      const before = el.scrollTop;
      el.scrollTop += el.clientHeight;
      if (el.scrollTop === before) break;
    }
    return out;
  });
  const map = new Map(rows);
  expect(map.size, 'rows read while scrolling = rows in the list').toBe(want);
  return map;
}

const pathsOf = (rows: Map<string, string>, change: string) => [...rows].filter(([, c]) => c === change).map(([p]) => p).sort();

/** Clicks a graph node until it is the selected one (the canvas may still be panning to the last selection). */
async function selectNode(page: Page, digest: string) {
  const node = page.locator(`.gnode[data-digest="${digest}"]`);
  await expect
    .poll(async () => {
      await node.click();
      return page.locator('.gnode.selected').getAttribute('data-digest');
    })
    .toBe(digest);
}

describe('explorer UI (web mode, realistic debootstrap + umoci image)', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let facts: RealisticFacts;
  let layout: string;
  let blobs: string[];
  let layers: TarEntryFacts[][];

  beforeAll(async () => {
    buildRenderer();
    const fixtures = inject('fixtures');
    layout = fixtures.realistic.layout;
    facts = JSON.parse(readFileSync(fixtures.realistic.facts, 'utf8')) as RealisticFacts;
    // Read with GNU tar only (never with our core): every entry of every layer.
    blobs = layoutLayerBlobs(layout, facts.manifestDigest);
    layers = blobs.map(listGzipLayer);
    ({ web, browser, page } = await openApp(layout));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('graph: the layout index, the manifest, its config and layers; indexed for the first time into this run’s cache', async () => {
    const index = page.locator('.gnode[data-kind="index"]');
    await index.waitFor();
    expect(await index.locator('.badge.synthetic').textContent()).toBe('index.json');
    const manifest = page.locator(`.gnode[data-digest="${facts.manifestDigest}"]`);
    await manifest.waitFor();
    expect(await manifest.getAttribute('data-kind')).toBe('manifest');
    expect(await page.locator(`.gnode[data-digest="${facts.configDigest}"]`).getAttribute('data-kind')).toBe('config');
    for (const l of facts.layers) expect(await page.locator(`.gnode[data-digest="${l.digest}"]`).getAttribute('data-kind')).toBe('layer');
    // Indexing reads (and so verifies) every layer; the indexes land in this server's own empty cache.
    await expect.poll(() => page.locator('.gnode[data-kind="layer"] .verify-verified').count(), { timeout: 120_000 }).toBe(facts.layers.length);
    const idx = readdirSync(web.cacheDir, { recursive: true }).map(String).filter((f) => f.endsWith('.idx'));
    expect(idx.length).toBe(facts.layers.length);
    await shot(page, 'realistic-graph');
  });

  it('manifest → the layer that deletes, modifies, chmods, chowns → the tree shows exactly its changes', async () => {
    // The layer made by that history step (empty_layer steps make none).
    const steps = facts.history.filter((h) => !h.empty_layer);
    const n = steps.findIndex((h) => /delete, modify, chmod, chown/.test(h.created_by ?? ''));
    expect(n).toBeGreaterThan(0);
    const want = layoutChanges(blobs, layers, n - 1, n);
    // The builder's own account of the step is part of what GNU tar sees.
    const step = facts.expect.steps.find((s) => s.layer === n)!;
    for (const p of step.added) expect(want.added.has('/' + p), p).toBe(true);
    for (const p of step.changed) expect(want.modified.has('/' + p), p).toBe(true);
    for (const p of step.removed) expect(want.removed.has('/' + p), p).toBe(true);

    await selectNode(page, facts.manifestDigest);
    await expect.poll(() => page.locator('.inspector .insp-head').textContent()).toContain('manifest');
    await selectNode(page, facts.layers[n]!.digest);
    await expect.poll(() => page.locator('.layer-facts').textContent()).toContain('delete, modify, chmod, chown');
    await shot(page, 'realistic-layer-node');
    await page.getByRole('button', { name: `Files of layer ${n + 1}` }).click();

    const summary = page.getByLabel('Diff summary');
    await expect.poll(() => summary.textContent()).toContain(`+${want.added.size} added`);
    expect(await summary.textContent()).toContain(`~${want.modified.size} modified`);
    expect(await summary.textContent()).toContain(`−${want.removed.size} removed`);
    // The layer list says the same for that layer.
    const row = page.locator(`.layer-row[data-layer="${n}"]`);
    expect(await row.locator('.c-added').textContent()).toBe(`+${want.added.size}`);
    expect(await row.locator('.c-modified').textContent()).toBe(`~${want.modified.size}`);
    expect(await row.locator('.c-removed').textContent()).toBe(`−${want.removed.size}`);
    await page.locator('.tree-row[data-change="removed"]').first().waitFor();
    await shot(page, 'realistic-layer-tree');

    // Each change kind alone, every folder open: the rows marked so are exactly the paths GNU tar gives.
    const filters = page.getByRole('group', { name: 'Show changes' });
    for (const kind of ['added', 'modified', 'removed'] as const) {
      await filters.getByRole('button', { name: kind }).click();
      await page.getByRole('button', { name: 'Expand', exact: true }).click();
      await expect.poll(() => page.locator(`.tree-row[data-change="${kind}"]`).count()).toBeGreaterThan(0);
      await expect.poll(async () => pathsOf(await allRows(page), kind)).toEqual([...want[kind]].sort());
      if (kind === 'removed') {
        await page.locator('.tree-list').evaluate((el) => (el.scrollTop = 0));
        await shot(page, 'realistic-filter-removed');
      }
      await filters.getByRole('button', { name: kind }).click();
    }
    // Modified rows say what changed (mode for chmod-me, uid/gid for chown-me).
    await filters.getByRole('button', { name: 'modified' }).click();
    await page.getByRole('button', { name: 'Expand', exact: true }).click();
    await expect.poll(() => page.locator('.tree-row[data-path="/opt/app/chmod-me"] .changed-aspects').textContent()).toContain('mode');
    expect(await page.locator('.tree-row[data-path="/opt/app/chown-me"] .changed-aspects').textContent()).toMatch(/uid.*gid/);
    await shot(page, 'realistic-filter-modified');
    await filters.getByRole('button', { name: 'modified' }).click();
  });

  it('Inspector: a digest in the raw JSON goes to its node; the config lists Env and Cmd and marks empty_layer steps', async () => {
    await page.getByRole('tab', { name: 'Graph' }).click();
    await selectNode(page, facts.manifestDigest);
    const json = page.locator('.inspector .raw-json');
    // The manifest's layers[2] digest → that layer's node.
    await json.locator('.digest-link', { hasText: facts.layers[2]!.digest }).click();
    await expect.poll(() => page.locator('.gnode.selected').getAttribute('data-digest')).toBe(facts.layers[2]!.digest);
    expect(await page.locator('.inspector .digest-full').textContent()).toBe(facts.layers[2]!.digest);
    // Back to the manifest, then its config digest → the config node.
    await selectNode(page, facts.manifestDigest);
    await json.locator('.digest-link', { hasText: facts.configDigest }).click();
    await expect.poll(() => page.locator('.gnode.selected').getAttribute('data-digest')).toBe(facts.configDigest);
    expect(await page.locator('.inspector .digest-full').textContent()).toBe(facts.configDigest);

    const cfg = page.locator('.config-view');
    await cfg.waitFor();
    const prop = (k: string) => cfg.locator('.props tr').filter({ has: page.locator('th', { hasText: new RegExp(`^${k}$`) }) }).locator('td');
    const env = facts.config.Env as string[];
    expect(await prop('Env').locator('li').allTextContents()).toEqual(env);
    expect(await prop('Cmd').textContent()).toBe(JSON.stringify(facts.config.Cmd));
    expect(await prop('User').textContent()).toBe(facts.config.User);
    expect(await prop('WorkingDir').textContent()).toBe(facts.config.WorkingDir);
    // History as the config has it: one line per step, the empty_layer ones marked "no layer".
    const hist = cfg.getByRole('list', { name: 'History' }).locator('li');
    expect(await hist.count()).toBe(facts.history.length);
    for (let i = 0; i < facts.history.length; i++) {
      const h = facts.history[i]!;
      const li = hist.nth(i);
      expect(await li.getAttribute('class'), `step ${i}`).toBe(h.empty_layer ? 'empty-layer' : '');
      expect(await li.locator('.hist-layer').textContent()).toBe(h.empty_layer ? 'no layer' : `layer ${facts.history.slice(0, i).filter((x) => !x.empty_layer).length + 1}`);
    }
    expect(facts.history.some((h) => h.empty_layer)).toBe(true);
    await cfg.getByRole('list', { name: 'History' }).scrollIntoViewIfNeeded();
    await shot(page, 'realistic-config');
  });

  it('Extract folder…: a progress bar with files and bytes, Cancel leaves nothing; a full extraction matches GNU tar', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-extract-'));
    try {
      await page.getByRole('tab', { name: 'Layers & files' }).click();
      await page.locator('.layer-row.final').click();
      await (await treeRow(page, '/usr')).click();
      await page.getByRole('button', { name: 'Extract folder…' }).click();
      const target = path.join(out, 'usr');
      await page.getByLabel('Target path on the server').fill(target);
      await page.getByRole('button', { name: 'Extract', exact: true }).click();
      const bar = page.getByRole('progressbar', { name: 'Extracting progress' });
      await bar.waitFor();
      // Bytes rise against a known total before it ends.
      // (a wait, not a time limit: the first report comes after the folders and the first files, slower on a busy machine)
      await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { interval: 20, timeout: 60_000 }).toBeGreaterThan(0);
      expect(await bar.getAttribute('aria-valuetext')).toMatch(/^[\d,]+ files? · .+ of .+ \(\d+ %\)$/);
      // The bar's fill is the share the text gives.
      const fill = await bar.evaluate((el) => ({ share: (el.firstElementChild as HTMLElement).getBoundingClientRect().width / el.clientWidth, now: Number(el.getAttribute('aria-valuenow')) }));
      expect(Math.abs(fill.share * 100 - fill.now)).toBeLessThan(1.5);
      await shot(page, 'extract-progress');
      await page.getByRole('button', { name: 'Cancel extracting' }).click();
      const result = page.locator('.viewer .save .job-result');
      await expect.poll(() => result.getAttribute('data-state')).toBe('cancelled');
      expect(await result.textContent()).toMatch(/cancelled/i);
      await shot(page, 'extract-cancelled');
      // The core made the folder, so a cancel removes it again.
      expect(existsSync(target)).toBe(false);

      // A whole (smaller) folder: the outcome line, and the files on disk are what GNU tar says.
      // Collapse first: /opt is then on screen without scrolling the virtual list (a click that has to scroll
      // a long list re-renders the row under it, which on a loaded machine can go on until the click times out).
      await page.getByRole('button', { name: 'Collapse', exact: true }).click();
      await page.locator('.tree-row[data-path="/usr"][aria-expanded="false"]').waitFor();
      const opt = await treeRow(page, '/opt');
      if ((await opt.getAttribute('aria-expanded')) !== 'true') await opt.click();
      await (await treeRow(page, '/opt/app')).click();
      await page.getByRole('button', { name: 'Extract folder…' }).click();
      const target2 = path.join(out, 'app');
      await page.getByLabel('Target path on the server').fill(target2);
      await page.getByRole('button', { name: 'Extract', exact: true }).click();
      await expect.poll(() => result.getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
      expect(await result.textContent()).toContain(`to ${target2}`);
      // The final image's opt/app/etc/config.ini (changed by layer 3) and data.bin (resized by it).
      const last = (p: string) => [...layers.keys()].reverse().find((i) => layers[i]!.some((e) => e.path === p && e.type === 'file'))!;
      const cfg = last('/opt/app/etc/config.ini');
      const body = execFileSync('tar', ['-xzOf', blobs[cfg]!, 'opt/app/etc/config.ini']);
      expect(readFileSync(path.join(target2, 'opt/app/etc/config.ini')).equals(body)).toBe(true);
      expect(statSync(path.join(target2, 'opt/app/data.bin')).size).toBe(layers[last('/opt/app/data.bin')]!.find((e) => e.path === '/opt/app/data.bin')!.size);
      await shot(page, 'extract-done');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('a path that fails to open while an image shows: the core’s sentence under the tab strip, dismissible', async () => {
    const bad = '/nonexistent/dropped-image.tar';
    const dt = await page.evaluateHandle((p) => {
      const t = new DataTransfer();
      t.setData('text/plain', p);
      return t;
    }, bad);
    await page.dispatchEvent('.main', 'dragover', { dataTransfer: dt });
    await page.dispatchEvent('.main', 'drop', { dataTransfer: dt });
    const toast = page.locator('.open-status [role="alert"]');
    await toast.waitFor();
    const text = (await toast.textContent())!;
    expect(text).toContain('Could not open');
    expect(text).toContain(bad);
    expect(text.length).toBeGreaterThan(bad.length + 30);
    // The image stays on screen beneath it.
    expect(await page.getByRole('tablist', { name: 'Open sources' }).getByRole('tab').count()).toBe(1);
    expect(await page.locator('.tree-pane').isVisible()).toBe(true);
    await shot(page, 'open-error-toast');
    await page.getByLabel('Theme').selectOption('dark');
    await shot(page, 'open-error-toast-dark');
    await page.getByLabel('Theme').selectOption('system');
    await toast.getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => page.locator('.open-status').count()).toBe(0);
  });
});

describe('explorer UI performance (100k-entry tree)', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const DIRS = 100;
  const FILES = 1000;

  beforeAll(async () => {
    buildRenderer();
    dir = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-big-'));
    await writeBigLayout(dir, DIRS, FILES);
    ({ web, browser, page } = await openApp(dir));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('measures first rows, long tasks while scrolling 50 pages, and a layer switch', async () => {
    await page.getByRole('tab', { name: 'Layers & files' }).click();
    await page.locator('.tree-row').first().waitFor({ timeout: 240_000 });
    await page.evaluate(() => performance.clearMarks());
    await page.getByRole('button', { name: 'Expand', exact: true }).click();
    const total = DIRS * (FILES + 1);
    await expect.poll(() => page.locator('.tree-list').getAttribute('data-rows'), { timeout: 120_000 }).toBe(String(total));
    const firstRows = await page.evaluate(() => {
      const data = performance.getEntriesByName('oci:tree-data').at(-1);
      const rows = performance.getEntriesByName('oci:tree-rows').at(-1);
      return data && rows ? rows.startTime - data.startTime : -1;
    });
    expect(firstRows).toBeGreaterThanOrEqual(0);
    await shot(page, 'big-tree');

    // Long tasks while scrolling 50 pages, one page per frame.
    const scroll = await page.evaluate(async () => {
      const tasks: number[] = [];
      const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => tasks.push(e.duration)));
      obs.observe({ type: 'longtask' });
      const el = document.querySelector('.tree-list')!;
      const t0 = performance.now();
      for (let i = 0; i < 50; i++) {
        el.scrollTop += el.clientHeight;
        await new Promise((r) => requestAnimationFrame(() => r(null)));
      }
      await new Promise((r) => setTimeout(r, 200));
      obs.disconnect();
      return { tasks, ms: performance.now() - t0, top: el.scrollTop };
    });
    expect(scroll.top).toBeGreaterThan(0);
    const visible = await page.locator('.tree-row').count();
    expect(visible).toBeGreaterThan(10);
    expect(visible).toBeLessThan(200); // virtualized: only the rows in view (+ overscan) exist

    // Layer switch: the final tree → layer 2's own changes (the 100 folders stay expanded).
    await page.evaluate(() => performance.clearMarks());
    await page.locator('.layer-row[data-layer="1"]').click();
    await expect.poll(() => page.getByLabel('Diff summary').textContent(), { timeout: 60_000 }).toContain('+20 added');
    const layerSwitchMs = () =>
      page.evaluate(() => {
        const sel = performance.getEntriesByName('oci:layer-select').at(-1);
        const rows = performance.getEntriesByName('oci:tree-rows').find((r) => r.startTime > (sel?.startTime ?? 0));
        return sel && rows ? rows.startTime - sel.startTime : -1;
      });
    // Of which: waiting for the core (select → tree data arrived); the rest is the UI.
    const layerSwitchWaitMs = () =>
      page.evaluate(() => {
        const sel = performance.getEntriesByName('oci:layer-select').at(-1);
        const data = performance.getEntriesByName('oci:tree-data').find((r) => r.startTime > (sel?.startTime ?? 0));
        return sel && data ? Math.round(data.startTime - sel.startTime) : -1;
      });
    await expect.poll(layerSwitchMs, { timeout: 60_000 }).toBeGreaterThanOrEqual(0);
    const layerSwitch = await layerSwitchMs();
    const layerSwitchWait = await layerSwitchWaitMs();
    // The folders on screen come first; the others follow (select → every folder's rows in the store).
    // Layer 2 adds 20 files; its removed files stay listed (marked), so the view has 20 rows more.
    await expect.poll(() => page.locator('.tree-list').getAttribute('data-rows'), { timeout: 60_000 }).toBe(String(total + 20));
    const layerSwitchAll = await page.evaluate(() => {
      const sel = performance.getEntriesByName('oci:layer-select').at(-1);
      const all = performance.getEntriesByName('oci:tree-data-all').find((r) => r.startTime > (sel?.startTime ?? 0));
      return sel && all ? Math.round(all.startTime - sel.startTime) : -1;
    });
    await shot(page, 'big-tree-layer');

    // The same with the folders collapsed (only the root listed), to the neighbouring layer after a pause
    // on this one (as a user reading it would make): the UI asks the core for the neighbours meanwhile.
    await page.getByRole('button', { name: 'Collapse', exact: true }).click();
    await page.waitForTimeout(2000);
    await page.evaluate(() => performance.clearMarks());
    await page.locator('.layer-row[data-layer="0"]').click();
    await expect.poll(layerSwitchMs, { timeout: 60_000 }).toBeGreaterThanOrEqual(0);
    const layerSwitchCollapsed = await layerSwitchMs();
    const layerSwitchCollapsedWait = await layerSwitchWaitMs();

    const figures = {
      entries: total,
      firstRowsAfterDataMs: Math.round(firstRows),
      scroll50Pages: { ms: Math.round(scroll.ms), longTasks: scroll.tasks.length, longestMs: Math.round(Math.max(0, ...scroll.tasks)) },
      layerSwitch: { ms: Math.round(layerSwitch), waitingForCoreMs: layerSwitchWait, allFoldersMs: layerSwitchAll },
      layerSwitchCollapsed: { ms: Math.round(layerSwitchCollapsed), waitingForCoreMs: layerSwitchCollapsedWait },
    };
    writeFileSync(path.join(ARTIFACTS, 'ui-perf.json'), JSON.stringify(figures, null, 2));
    console.log('UI performance:', JSON.stringify(figures));
  });
});
