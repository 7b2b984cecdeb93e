import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { ARTIFACTS, buildRenderer, openApp, type WebMode } from './helpers.js';
import { layoutLayerBlobs, listGzipLayer, mergedEntries, type TarEntryFacts } from './tar-oracle.js';
import type { RealisticFacts, ReferrerFacts } from '../fixtures/types.js';

// Details of the explorer UI that explorer.test.ts does not reach: referrers in the graph, regex search
// and size sort in the tree, a corrupted layer blob, and layout stability (CLS). Every expected figure
// comes from the fixture's facts.json, GNU tar or the bytes on disk, never from the UI or our core.

async function shot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

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

/** Every row of the virtualized tree in display order (path and depth), read by scrolling it top to bottom. */
async function rowsInOrder(page: Page): Promise<{ path: string; level: number }[]> {
  const want = Number(await page.locator('.tree-list').getAttribute('data-rows'));
  const rows = await page.locator('.tree-list').evaluate(async (el) => {
    const seen = new Map<string, { path: string; level: number; top: number }>();
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null))));
    el.scrollTop = 0;
    for (let i = 0; i < 10_000; i++) {
      await frame();
      for (const r of el.querySelectorAll<HTMLElement>('.tree-row')) {
        // Rows are absolutely placed (translateY): their place on the page, plus the scroll, is their order.
        const top = r.getBoundingClientRect().top + el.scrollTop;
        seen.set(r.dataset.path!, { path: r.dataset.path!, level: Number(r.getAttribute('aria-level')), top });
      }
      const before = el.scrollTop;
      el.scrollTop += el.clientHeight;
      if (el.scrollTop === before) break;
    }
    return [...seen.values()].sort((a, b) => a.top - b.top).map(({ path, level }) => ({ path, level }));
  });
  expect(rows.length, 'rows read while scrolling = rows in the list').toBe(want);
  return rows;
}

/** Tree order of paths: component by component, each compared by UTF-16 code units (a folder before what is inside it). */
function treeOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length;
}

describe('graph: referrers (SBOM artifact and cosign-style signature) attached to their subject', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let facts: ReferrerFacts;
  let layout: string;

  beforeAll(async () => {
    buildRenderer();
    const fixtures = inject('fixtures');
    layout = fixtures.referrer.layout;
    facts = JSON.parse(readFileSync(fixtures.referrer.facts, 'utf8')) as ReferrerFacts;
    ({ web, browser, page } = await openApp(layout));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  // What the fixture builder wrote: one SBOM artifact and one signature, both with `subject` = the image.
  const isSignature = (r: ReferrerFacts['referrers'][number]) => r.artifactType.includes('cosign') && r.artifactType.includes('.sig');

  it('each referrer is a node of its kind, joined to its subject image by a "referrer" edge, its artifactType on the node', async () => {
    expect(facts.referrers.length).toBe(2);
    expect(facts.referrers.filter(isSignature).length).toBe(1);
    const subject = page.locator(`.gnode[data-digest="${facts.image.manifestDigest}"]`);
    await subject.waitFor();
    expect(await subject.getAttribute('data-kind')).toBe('manifest');
    for (const r of facts.referrers) {
      // The referrer's own manifest says it points at the image (read from the blob on disk, not from the UI).
      const doc = JSON.parse(readFileSync(path.join(layout, 'blobs', ...r.digest.split(':')), 'utf8')) as { subject?: { digest: string }; artifactType?: string };
      expect(doc.subject?.digest).toBe(facts.image.manifestDigest);
      expect(doc.artifactType).toBe(r.artifactType);

      const node = page.locator(`.gnode[data-digest="${r.digest}"]`);
      await node.waitFor();
      const kind = isSignature(r) ? 'signature' : 'artifact';
      expect(await node.getAttribute('data-kind')).toBe(kind);
      expect((await node.locator('.gnode-kind').textContent())!.toLowerCase()).toBe(kind);
      // The artifactType is on the node (shortened; the full one in its title), so an SBOM can be told from a signature without clicking.
      const at = node.locator('.gnode-atype');
      expect(await at.getAttribute('title')).toBe(r.artifactType);
      expect(r.artifactType).toContain(((await at.textContent())!.replace(/^·\s*/, '').replace(/…$/, '')));
      // Attached to its subject: an edge image → referrer drawn (edges come a frame or two after the nodes).
      const edge = page.locator(`.react-flow__edge[data-id^="${facts.image.manifestDigest}>${r.digest}:referrer"]`);
      await expect.poll(() => edge.count()).toBe(1);
      expect(await edge.locator('.react-flow__edge-text').textContent()).toBe('referrer');
      // And it is drawn between the two: it starts at the subject's right edge and ends at the referrer's left edge.
      const ends = await edge.locator('path.react-flow__edge-path').evaluate((p: SVGPathElement) => {
        const len = p.getTotalLength();
        const m = p.getScreenCTM()!;
        const at = (l: number) => new DOMPoint(p.getPointAtLength(l).x, p.getPointAtLength(l).y).matrixTransform(m);
        const a = at(0);
        const b = at(len);
        return { ax: a.x, ay: a.y, bx: b.x, by: b.y };
      });
      const s = (await subject.boundingBox())!;
      const t = (await node.boundingBox())!;
      expect(Math.abs(ends.ax - (s.x + s.width))).toBeLessThan(12);
      expect(ends.ay).toBeGreaterThan(s.y);
      expect(ends.ay).toBeLessThan(s.y + s.height);
      expect(Math.abs(ends.bx - t.x)).toBeLessThan(12);
      expect(ends.by).toBeGreaterThan(t.y);
      expect(ends.by).toBeLessThan(t.y + t.height);
    }
    // The tag-schema fallback: the index tagged sha256-<hex> lists both referrers.
    const fallback = page.locator(`.gnode[data-digest="${facts.fallbackIndexDigest}"]`);
    expect(await fallback.getAttribute('data-kind')).toBe('index');
    expect(await fallback.locator('.gnode-name').textContent()).toBe(facts.fallbackTag);
    for (const r of facts.referrers) expect(await page.locator(`.react-flow__edge[data-id^="${facts.fallbackIndexDigest}>${r.digest}:manifest"]`).count()).toBe(1);
    // The signature carries its cosign tag as its name.
    const sig = facts.referrers.find(isSignature)!;
    expect(await page.locator(`.gnode[data-digest="${sig.digest}"] .gnode-name`).textContent()).toBe(facts.signatureTag);
    await shot(page, 'details-referrers-graph');
  });

  it('click a referrer → the Inspector shows its descriptor; its subject digest leads back to the image', async () => {
    const prop = (k: string) => page.locator('.inspector .props').first().locator('tr').filter({ has: page.locator('th', { hasText: new RegExp(`^${k}$`) }) }).locator('td');
    for (const r of facts.referrers) {
      await selectNode(page, r.digest);
      await expect.poll(() => page.locator('.inspector .digest-full').textContent()).toBe(r.digest);
      expect(await page.locator('.inspector .insp-head h2').textContent()).toContain(isSignature(r) ? 'signature' : 'artifact');
      expect((await prop('mediaType').locator('.mono').textContent())!).toBe(r.mediaType);
      expect(await prop('artifactType').textContent()).toBe(r.artifactType);
      expect(await prop('size').textContent()).toContain(`${r.size.toLocaleString('en')} bytes`);
      // The bytes on disk hash to the digest, so "verified" is the truth here.
      const bytes = readFileSync(path.join(layout, 'blobs', ...r.digest.split(':')));
      expect('sha256:' + createHash('sha256').update(bytes).digest('hex')).toBe(r.digest);
      expect(await prop('verify').textContent()).toBe('verified');
      // The raw JSON is the manifest itself: its subject digest is a link.
      const subjectLink = page.locator('.inspector .raw-json .digest-link', { hasText: facts.image.manifestDigest });
      await subjectLink.waitFor();
      // Long unbroken values (the cosign tag as a name and annotation) wrap inside the Inspector, nothing cut off.
      expect(await page.locator('.inspector').evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
      await shot(page, isSignature(r) ? 'details-inspector-signature' : 'details-inspector-sbom');
      await subjectLink.click();
      await expect.poll(() => page.locator('.gnode.selected').getAttribute('data-digest')).toBe(facts.image.manifestDigest);
      expect(await page.locator('.inspector .digest-full').textContent()).toBe(facts.image.manifestDigest);
    }
  });
});

describe('tree: regex search and size sort (realistic image, against GNU tar)', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let final: Map<string, { entry: TarEntryFacts; layer: number }>;

  beforeAll(async () => {
    buildRenderer();
    const fixtures = inject('fixtures');
    const facts = JSON.parse(readFileSync(fixtures.realistic.facts, 'utf8')) as RealisticFacts;
    const layers = layoutLayerBlobs(fixtures.realistic.layout, facts.manifestDigest).map(listGzipLayer);
    final = mergedEntries(layers, layers.length - 1);
    ({ web, browser, page } = await openApp(fixtures.realistic.layout));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('regex mode: hit count from GNU tar, next/previous walk the hits in tree order', async () => {
    await page.getByRole('tab', { name: 'Layers & files' }).click();
    await page.locator('.layer-row.final').click();
    await page.locator('.tree-row').first().waitFor({ timeout: 120_000 });
    // Alternation cannot be written as a glob: in glob mode the same text matches nothing.
    const pattern = String.raw`\.(conf|list)$`;
    const search = page.getByLabel('Search paths');
    await search.fill(pattern);
    await search.press('Enter');
    await expect.poll(() => page.locator('.hit-count').textContent()).toBe('no matches');
    await page.getByRole('button', { name: 'Clear search' }).click();

    await page.getByLabel('Search mode').selectOption('regex');
    await search.fill(pattern);
    await search.press('Enter');
    // The contract: a regex is tested against the full path, case-insensitively.
    const re = new RegExp(pattern, 'i');
    const hits = [...final.keys()].filter((p) => re.test(p)).sort(treeOrder);
    expect(hits.length).toBeGreaterThan(20);
    const total = hits.length.toLocaleString('en');
    await expect.poll(() => page.locator('.hit-count').textContent()).toBe(`1 / ${total}`);
    const selected = () => page.locator('.tree-row.selected').getAttribute('data-path');
    await expect.poll(selected).toBe(hits[0]);
    await page.getByRole('button', { name: 'Next match' }).click();
    await expect.poll(() => page.locator('.hit-count').textContent()).toBe(`2 / ${total}`);
    await expect.poll(selected).toBe(hits[1]);
    await page.getByRole('button', { name: 'Next match' }).click();
    await expect.poll(selected).toBe(hits[2]);
    await page.getByRole('button', { name: 'Previous match' }).click();
    await expect.poll(() => page.locator('.hit-count').textContent()).toBe(`2 / ${total}`);
    await expect.poll(selected).toBe(hits[1]);
    await page.getByRole('button', { name: 'Previous match' }).click();
    await expect.poll(selected).toBe(hits[0]);
    // Previous from the first wraps to the last hit (in another folder, opened and scrolled to).
    await page.getByRole('button', { name: 'Previous match' }).click();
    await expect.poll(() => page.locator('.hit-count').textContent()).toBe(`${total} / ${total}`);
    await expect.poll(selected).toBe(hits.at(-1));
    expect(await page.locator('.tree-row.selected').isVisible()).toBe(true);
    // Rows that match are marked; the folders leading to them are listed but not marked.
    expect(await page.locator('.tree-row.selected').getAttribute('class')).toContain('match');
    await shot(page, 'details-regex-search');
    await page.getByRole('button', { name: 'Clear search' }).click();
    await page.getByLabel('Search mode').selectOption('glob');
  });

  it('sort by size, largest first: /etc in the order of the sizes GNU tar lists (folders by the files below them)', async () => {
    // Sizes as the contract defines them: a file its bytes (a hard link its target's), a folder the bytes of
    // the regular files below it (hard links not counted twice), symlinks and devices nothing.
    const sizeOf = (p: string): number => {
      const e = final.get(p)!.entry;
      if (e.type === 'dir') {
        let sum = 0;
        for (const [q, v] of final) if (q.startsWith(p + '/') && v.entry.type === 'file') sum += v.entry.size;
        return sum;
      }
      if (e.type === 'hardlink') return final.get('/' + e.link!.replace(/^\.?\//, ''))!.entry.size;
      return e.type === 'file' ? e.size : 0;
    };
    const children = [...final.keys()].filter((p) => p.startsWith('/etc/') && !p.slice(5).includes('/'));
    const bySize = children.map((p) => ({ p, size: sizeOf(p), name: p.slice(5) }));
    expect(new Set(bySize.map((x) => x.size)).size).toBeGreaterThan(10);
    // Largest first; equal sizes by name (UTF-16 order), as the core lists them.
    const want = bySize.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((x) => x.p);

    await page.getByRole('button', { name: 'Collapse', exact: true }).click();
    await page.getByLabel('Sort').selectOption('size-desc');
    const etc = page.locator('.tree-row[data-path="/etc"]');
    await etc.waitFor();
    await etc.click();
    await expect.poll(() => page.locator('.tree-row[aria-level="2"]').count()).toBeGreaterThan(0);
    const etcChildren = async () => (await rowsInOrder(page)).filter((r) => r.level === 2 && r.path.startsWith('/etc/')).map((r) => r.path);
    await expect.poll(etcChildren).toEqual(want);
    await page.locator('.tree-list').evaluate((el) => (el.scrollTop = 0));
    await etc.scrollIntoViewIfNeeded();
    await shot(page, 'details-sort-size');

    // "Expand" (all folders) keeps the same order: rows must not reorder when more folders open.
    await page.getByRole('button', { name: 'Expand', exact: true }).click();
    await expect.poll(async () => Number(await page.locator('.tree-list').getAttribute('data-rows')), { timeout: 60_000 }).toBeGreaterThan(final.size / 2);
    // /etc's children and the top level, read in one pass over the whole expanded tree.
    const top = [...final.keys()].filter((p) => p.lastIndexOf('/') === 0).map((p) => ({ p, size: sizeOf(p) }));
    const wantTop = top.sort((a, b) => b.size - a.size || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0)).map((x) => x.p);
    await expect
      .poll(async () => {
        const rows = await rowsInOrder(page);
        return { etc: rows.filter((r) => r.level === 2 && r.path.startsWith('/etc/')).map((r) => r.path), top: rows.filter((r) => r.level === 1).map((r) => r.path) };
      })
      .toEqual({ etc: want, top: wantTop });
    await page.getByRole('button', { name: 'Collapse', exact: true }).click();
    await page.getByLabel('Sort').selectOption('name-asc');
    await expect.poll(async () => (await rowsInOrder(page)).map((r) => r.path)).toEqual([...wantTop].sort());
    // Expand, then collapse again: still name order (no folders-first regrouping).
    await page.getByRole('button', { name: 'Expand', exact: true }).click();
    await expect.poll(async () => Number(await page.locator('.tree-list').getAttribute('data-rows')), { timeout: 60_000 }).toBeGreaterThan(final.size / 2);
    await page.getByRole('button', { name: 'Collapse', exact: true }).click();
    await expect.poll(async () => (await rowsInOrder(page)).map((r) => r.path)).toEqual([...wantTop].sort());
  });
});

describe('a layer blob with one byte flipped (same size)', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let bad: { digest: string; index: number; actual: string };

  beforeAll(async () => {
    buildRenderer();
    dir = mkdtempSync(path.join(os.tmpdir(), 'oci-e2e-corrupt-'));
    cpSync(path.join(REPO_ROOT, 'resources/demo'), dir, { recursive: true });
    // The demo is an index of two platforms sharing their layers: take the first image's first layer.
    const blob = (d: string) => path.join(dir, 'blobs', ...d.split(':'));
    const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string }[] };
    let top = index.manifests[0]!;
    while (top.mediaType.endsWith('index.v1+json')) top = (JSON.parse(readFileSync(blob(top.digest), 'utf8')) as typeof index).manifests[0]!;
    const manifest = JSON.parse(readFileSync(blob(top.digest), 'utf8')) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0]!;
    const bytes = readFileSync(blob(layer.digest));
    const mid = bytes.length >> 1;
    bytes[mid] = bytes[mid]! ^ 0x01;
    writeFileSync(blob(layer.digest), bytes);
    expect(statSync(blob(layer.digest)).size).toBe(layer.size);
    bad = { digest: layer.digest, index: 0, actual: createHash('sha256').update(bytes).digest('hex') };
    ({ web, browser, page } = await openApp(dir));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the layer node gets a "digest mismatch" badge once read; the Inspector and the Layers row say what is wrong', async () => {
    const node = page.locator(`.gnode[data-digest="${bad.digest}"]`);
    await node.waitFor();
    // The image is selected (and its layers read) when the source opens; reading the layer finds the mismatch.
    await expect.poll(() => node.locator('.verify').getAttribute('class'), { timeout: 60_000 }).toContain('verify-failed');
    await expect.poll(() => node.locator('.badge.problem').allTextContents()).toContain('digest mismatch');
    expect(await node.getAttribute('class')).toContain('has-problems');
    // The other layers read fine.
    const others = await page.locator('.gnode[data-kind="layer"]').evaluateAll((els, d) => els.filter((e) => e.getAttribute('data-digest') !== d).map((e) => e.querySelector('.badge.problem')?.textContent ?? ''), bad.digest);
    expect(others.length).toBeGreaterThan(0);
    expect(others.every((t) => t === '')).toBe(true);

    await selectNode(page, bad.digest);
    const problems = page.locator('.inspector .problems');
    await expect.poll(() => problems.textContent()).toContain(bad.digest.slice(7, 19));
    // The core's sentence names what the bytes hash to (computed here from the file).
    expect(await problems.textContent()).toContain(bad.actual.slice(0, 12));
    await shot(page, 'details-corrupt-graph');

    await page.getByRole('tab', { name: 'Layers & files' }).click();
    const row = page.locator(`.layer-row[data-layer="${bad.index}"]`);
    const sentence = row.locator('.row-error');
    await expect.poll(() => sentence.textContent()).toContain(bad.digest.slice(7, 19));
    const text = (await sentence.textContent())!;
    expect(text).toContain(bad.actual.slice(0, 12));
    expect(text).toMatch(/does not match its digest/);
    expect(await row.getAttribute('class')).toContain('has-problems');
    expect(await page.locator('.tree-pane .warning-banner').textContent()).toContain(`Layer ${bad.index + 1}`);
    await shot(page, 'details-corrupt-layers');
  });
});

describe('no layout jumps: layout shifts while opening an image, switching tabs and selecting layers', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let facts: RealisticFacts;

  beforeAll(async () => {
    buildRenderer();
    const fixtures = inject('fixtures');
    facts = JSON.parse(readFileSync(fixtures.realistic.facts, 'utf8')) as RealisticFacts;
    ({ web, browser, page } = await openApp(fixtures.realistic.layout));
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('records every layout shift (CLS figures in test/artifacts/layout-shift.json); no single jump', async () => {
    // `buffered: true` hands over the shifts since navigation too: the page was loading and opening the
    // image (graph, then indexing the layers) before this observer existed.
    await page.evaluate(() => {
      const w = window as unknown as { __shifts: unknown[]; __phase: string };
      w.__shifts = [];
      w.__phase = 'open';
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean; sources?: { node?: Node; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly }[] })[]) {
          w.__shifts.push({
            phase: w.__phase,
            t: Math.round(e.startTime),
            value: e.value,
            hadRecentInput: e.hadRecentInput,
            sources: (e.sources ?? []).map((s) => {
              const el = s.node instanceof Element ? s.node : s.node?.parentElement;
              const r = (x: DOMRectReadOnly) => [Math.round(x.x), Math.round(x.y), Math.round(x.width), Math.round(x.height)];
              return { node: el ? `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : ''}` : String(s.node?.nodeName), from: r(s.previousRect), to: r(s.currentRect) };
            }),
          });
        }
      }).observe({ type: 'layout-shift', buffered: true });
    });
    const phase = (p: string) => page.evaluate((x) => ((window as unknown as { __phase: string }).__phase = x), p);
    const settle = () => page.waitForTimeout(600);

    // Opening: the graph, then every layer read and verified (the sizes on the nodes fill in).
    await page.locator(`.gnode[data-digest="${facts.manifestDigest}"]`).waitFor();
    await expect.poll(() => page.locator('.gnode[data-kind="layer"] .verify-verified').count(), { timeout: 120_000 }).toBe(facts.layers.length);
    await settle();

    await phase('tab: Layers & files');
    await page.getByRole('tab', { name: 'Layers & files' }).click();
    await page.locator('.tree-row').first().waitFor({ timeout: 60_000 });
    await settle();
    await phase('tab: Efficiency');
    await page.getByRole('tab', { name: 'Efficiency' }).click();
    await page.getByTestId('eff-score').locator('.figure-value').waitFor({ timeout: 60_000 });
    await page.getByLabel('Treemap of the final image by size').locator('.tm-tile').first().waitFor({ timeout: 60_000 });
    await settle();
    await shot(page, 'details-cls-efficiency');
    await phase('tab: Graph');
    await page.getByRole('tab', { name: 'Graph' }).click();
    await page.locator('.gnode').first().waitFor();
    await settle();
    await phase('tab: Layers & files again');
    await page.getByRole('tab', { name: 'Layers & files' }).click();
    await page.locator('.tree-row').first().waitFor();
    await settle();
    // Where the tools sit, in the final image and in each layer's view once settled: geometry, not timing.
    const places = () =>
      page.evaluate(() => {
        const box = (sel: string) => {
          const r = document.querySelector(sel)?.getBoundingClientRect();
          return r ? [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)].join(',') : 'absent';
        };
        return { sort: box('.tree-tools select[aria-label="Sort"]'), expand: box('.tree-tools button[title="Expand all folders"]'), compareBar: box('.compare-bar'), layerList: box('.layer-list'), treeList: box('.tree-list'), tabs: [...document.querySelectorAll('.view-tabs button')].map((b) => Math.round(b.getBoundingClientRect().width)).join(',') };
      });
    const atFinal = await places();
    for (let i = 0; i < facts.layers.length; i++) {
      await phase(`select layer ${i + 1}`);
      await page.locator(`.layer-row[data-layer="${i}"]`).click();
      await expect.poll(() => page.getByLabel('Diff summary').textContent(), { timeout: 60_000 }).toMatch(/added/);
      await settle();
      expect(await places(), `layer ${i + 1} vs the final image`).toEqual(atFinal);
      if (i === facts.layers.length - 1) await shot(page, 'details-cls-layer');
    }
    await phase('select final');
    await page.locator('.layer-row.final').click();
    await expect.poll(() => page.getByLabel('Diff summary').count()).toBe(0);
    await settle();
    expect(await places()).toEqual(atFinal);
    // The view tabs keep their widths whichever is active.
    for (const t of ['Efficiency', 'Graph', 'Layers & files']) {
      await page.getByRole('tab', { name: t }).click();
      expect((await places()).tabs, t).toBe(atFinal.tabs);
    }
    await shot(page, 'details-cls-end');

    type Shift = { phase: string; t: number; value: number; hadRecentInput: boolean; sources: { node: string; from: number[]; to: number[] }[] };
    const shifts = await page.evaluate(() => (window as unknown as { __shifts: Shift[] }).__shifts);
    const cls = shifts.filter((s) => !s.hadRecentInput).reduce((a, s) => a + s.value, 0);
    const byPhase: Record<string, { count: number; sum: number; max: number }> = {};
    for (const s of shifts) {
      const b = (byPhase[s.phase] ??= { count: 0, sum: 0, max: 0 });
      b.count++;
      b.sum += s.value;
      b.max = Math.max(b.max, s.value);
    }
    const max = Math.max(0, ...shifts.map((s) => s.value));
    const figures = {
      viewport: '1280x800',
      image: 'realistic (test/.cache/fixtures/realistic/layout)',
      shifts: shifts.length,
      clsWithoutRecentInput: Number(cls.toFixed(5)),
      sumAll: Number(shifts.reduce((a, s) => a + s.value, 0).toFixed(5)),
      largestShift: Number(max.toFixed(5)),
      byPhase,
      entries: shifts,
    };
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, 'layout-shift.json'), JSON.stringify(figures, null, 2));
    console.log('layout shifts:', JSON.stringify({ ...figures, entries: undefined }));
    // Only what cannot flake with timing: no single shift as large as a real jump. A shift's score is
    // (share of the viewport that moved) × (distance moved / 1280 px, the viewport's larger side), whatever
    // the machine's speed. A pane pushed down by a banner or a block appearing above it (≥ 30 px over ≥ half
    // the screen) scores ≥ 0.5 × 30/1280 ≈ 0.012; the one found here (the wasted-paths table pushed 351 px
    // down when the treemap replaced its one-line placeholder) scored 0.123. A new source tab nudging
    // "+ Open" scores 0.0006. Totals depend on how many frames a change spans, so they are recorded, not
    // asserted; the smaller jumps (tools moving sideways, the compare bar) are held by the geometry checks above.
    expect(max, JSON.stringify(shifts.filter((s) => s.value >= 0.01), null, 1)).toBeLessThan(0.01);
  });
});
