import { useEffect, useMemo, useRef, useState } from 'react';
import type { DirPage, ImageRef } from '../../shared/api/contract.js';
import { humanBytes } from '../../shared/ui/format.js';
import { layoutTreemap, type TreemapNode } from '../../shared/ui/treemap.js';
import { api, errorText } from '../state/api.js';

// The final image's bytes as a squarified treemap, two levels deep (root entries and the children of the
// biggest folders), from listDirs' directory totals: no walk of the whole tree. Paths that dive counts as
// wasted (and the folders holding them) are tinted.

const PER_DIR = 60;
const OPEN_DIRS = 40;
const HEIGHT = 340;

/** A folder's listed children; what did not fit in the page is one "N more" tile (the folder's total minus the listed). */
function nodesOf(page: DirPage, total?: number): TreemapNode[] {
  // A hard link's bytes are its target's: counted there once (as the directory totals do), not per name.
  const sizeOf = (e: DirPage['entries'][number]) => (e.type === 'dir' ? (e.totalSize ?? 0) : e.type === 'hardlink' ? 0 : e.size);
  const nodes: TreemapNode[] = page.entries.map((e) => ({ path: e.path, name: e.name, size: sizeOf(e), dir: e.type === 'dir' }));
  const rest = total === undefined ? 0 : total - nodes.reduce((a, n) => a + n.size, 0);
  if (page.total > page.entries.length && rest > 0) nodes.push({ path: page.path, name: `${page.total - page.entries.length} more`, size: rest, dir: false });
  return nodes;
}

export function Treemap({ image, wasted, onOpen }: { image: ImageRef; wasted: readonly string[]; onOpen: (path: string) => void }) {
  const [roots, setRoots] = useState<TreemapNode[]>();
  const [error, setError] = useState<string>();
  const [hover, setHover] = useState<TreemapNode>();
  const [width, setWidth] = useState(0);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let live = true;
    const args = { image, view: { kind: 'merged' as const }, limit: PER_DIR, sort: { by: 'size' as const, order: 'desc' as const } };
    void (async () => {
      try {
        const top = await api().listDirs({ ...args, paths: ['/'] });
        const rootNodes = top.pages[0] ? nodesOf(top.pages[0]) : [];
        const open = rootNodes.filter((n) => n.dir && n.size > 0).slice(0, OPEN_DIRS);
        const second = open.length ? await api().listDirs({ ...args, paths: open.map((n) => n.path) }) : { pages: [] };
        const sizeOf = new Map(open.map((n) => [n.path, n.size]));
        const byPath = new Map(second.pages.map((p) => [p.path, nodesOf(p, sizeOf.get(p.path))]));
        for (const n of rootNodes) if (n.dir) n.children = byPath.get(n.path);
        if (live) setRoots(rootNodes);
      } catch (e) {
        if (live) setError(errorText(e));
      }
    })();
    return () => {
      live = false;
    };
  }, [image]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, [roots]);

  const tiles = useMemo(() => (roots && width ? layoutTreemap(roots, { x: 0, y: 0, w: width, h: HEIGHT }, { pad: 2, header: 16, minSide: 28 }) : []), [roots, width]);
  // A tile is wasted if it is a wasted path or holds one.
  const isWasted = (p: string) => wasted.some((w) => w === p || w.startsWith(p === '/' ? p : p + '/'));

  // Until the tiles are in, the box keeps the treemap's size: what is below it must not jump down later.
  const note = error ?? (!roots ? 'Measuring folders…' : !roots.some((r) => r.size > 0) ? 'The image holds no file bytes.' : undefined);
  if (note !== undefined)
    return (
      <div className="treemap-wrap">
        <div className="treemap treemap-note" style={{ height: HEIGHT }} aria-busy={!roots && !error}>
          <p className="muted">{note}</p>
        </div>
        <div className="treemap-status small" />
      </div>
    );
  return (
    <div className="treemap-wrap">
      <div className="treemap" ref={box} style={{ height: HEIGHT }} aria-label="Treemap of the final image by size" onMouseLeave={() => setHover(undefined)}>
        {tiles.map((t) => (
          <div
            key={t.node.path + '|' + t.node.name + '|' + t.depth}
            className={'tm-tile' + (t.node.dir ? ' dir' : ' file') + ` d${Math.min(t.depth, 2)}` + (isWasted(t.node.path) ? ' wasted' : '') + (hover === t.node ? ' hover' : '')}
            data-path={t.node.path}
            style={{ left: t.x, top: t.y, width: Math.max(0, t.w - 1), height: Math.max(0, t.h - 1) }}
            title={`${t.node.path}${t.node.name.endsWith(' more') ? ` (${t.node.name})` : ''} — ${humanBytes(t.node.size)}`}
            onMouseEnter={() => setHover(t.node)}
            onClick={(e) => {
              e.stopPropagation();
              onOpen(t.node.path);
            }}
          >
            {t.w > 36 && t.h > 14 && <span className="tm-label">{t.node.name}</span>}
          </div>
        ))}
      </div>
      <div className="treemap-status small" aria-live="polite" data-testid="treemap-status">
        {hover ? (
          <>
            <span className="mono">{hover.path}</span> — {humanBytes(hover.size)}
            {isWasted(hover.path) ? <span className="tm-wasted-note"> · holds wasted bytes</span> : null}
          </>
        ) : (
          <span className="muted">Area is size (final image, two levels). Red: wasted paths and the folders holding them. Click a tile to show it in the tree.</span>
        )}
      </div>
    </div>
  );
}
