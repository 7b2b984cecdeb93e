import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { ChangeKind, FileView, TreeEntry, TreeView } from '../../shared/api/contract.js';
import { groupDigits, humanBytes, modeString, parentPath } from '../../shared/ui/format.js';
import { fileUpTo } from '../state/image.js';
import { noteViewportEnd, useTree } from '../state/tree.js';
import { useViewer } from '../state/viewer.js';
import { Copy } from './Copy.js';
import { ErrorBanner } from './ErrorBanner.js';

const ROW_H = 22;
const KINDS: ChangeKind[] = ['added', 'modified', 'removed', 'unchanged'];

export function fileViewFor(view: TreeView, e: TreeEntry): FileView | undefined {
  const removed = e.change === 'removed';
  if (view.kind === 'diff' && removed && !view.bottom) return undefined;
  const upTo = fileUpTo(view, removed);
  return upTo === undefined ? { kind: 'merged' } : { kind: 'merged', upTo };
}

export function TreePane({ warning }: { sourceId: string; warning?: string | undefined }) {
  const t = useTree();
  const [columns, setColumns] = useState(true);
  const parentRef = useRef<HTMLDivElement>(null);
  const isDiff = t.ctx?.view.kind === 'diff';
  const rows = t.rows;
  const selIndex = t.selected ? rows.findIndex((r) => r.entry.path === t.selected) : -1;

  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is read fresh each render
  const virt = useVirtualizer({ count: rows.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW_H, overscan: 12 });

  // The tree store loads the folders on screen first after a view change (see reload in state/tree.ts).
  const lastVisible = virt.getVirtualItems().at(-1)?.index ?? 0;
  useEffect(() => noteViewportEnd(lastVisible), [lastVisible]);

  useEffect(() => {
    // Marks for the e2e performance figures: rows committed after new data.
    if (rows.length) performance.mark('oci:tree-rows', { detail: rows.length });
  }, [rows]);

  useEffect(() => {
    if (selIndex >= 0) virt.scrollToIndex(selIndex, { align: 'auto' });
    // only when asked (scrollTick), not on every row change
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [t.scrollTick]);

  const openEntry = (e: TreeEntry) => {
    const ctx = t.ctx;
    if (!ctx) return;
    const fv = fileViewFor(ctx.view, e);
    if (fv) void useViewer.getState().open(ctx.image, fv, e);
  };

  const move = (to: number) => {
    const r = rows[Math.max(0, Math.min(rows.length - 1, to))];
    if (r) {
      t.select(r.entry.path);
      virt.scrollToIndex(rows.indexOf(r), { align: 'auto' });
      if (r.entry.type !== 'dir') openEntry(r.entry);
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const cur = rows[selIndex];
    const page = Math.max(1, Math.floor((parentRef.current?.clientHeight ?? 400) / ROW_H) - 1);
    switch (e.key) {
      case 'ArrowDown':
        move(selIndex + 1);
        break;
      case 'ArrowUp':
        move(selIndex - 1);
        break;
      case 'PageDown':
        move(selIndex + page);
        break;
      case 'PageUp':
        move(selIndex - page);
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(rows.length - 1);
        break;
      case 'ArrowRight':
        if (cur?.entry.type === 'dir') {
          if (!cur.expanded) void t.expand(cur.entry.path);
          else move(selIndex + 1);
        } else return;
        break;
      case 'ArrowLeft':
        if (cur?.expanded) t.collapse(cur.entry.path);
        else if (cur) {
          const p = parentPath(cur.entry.path);
          const i = rows.findIndex((r) => r.entry.path === p);
          if (i >= 0) move(i);
        } else return;
        break;
      case 'Enter':
        if (cur) {
          if (cur.entry.type === 'dir') t.toggle(cur.entry.path);
          else openEntry(cur.entry);
        }
        break;
      case 'c':
        if ((e.ctrlKey || e.metaKey) && t.selected) void navigator.clipboard?.writeText(t.selected).catch(() => undefined);
        return;
      default:
        return;
    }
    e.preventDefault();
  };

  const toggleKind = (k: ChangeKind) => t.setChanges(t.changes.includes(k) ? t.changes.filter((x) => x !== k) : [...t.changes, k]);

  return (
    <section className="tree-pane" aria-label="Filesystem">
      <div className="tree-toolbar">
        <form
          className="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            void t.runSearch();
          }}
        >
          <input aria-label="Search paths" placeholder="Search: *.conf, **/bin/*, or regex" value={t.searchText} onChange={(e) => t.setSearchText(e.target.value)} spellCheck={false} />
          <select aria-label="Search mode" value={t.searchMode} onChange={(e) => t.setSearchText(t.searchText, e.target.value as 'glob')}>
            <option value="glob">glob</option>
            <option value="regex">regex</option>
            <option value="substring">text</option>
          </select>
          {t.search ? (
            <>
              <span className="hit-count" aria-live="polite">
                {t.hitTotal ? `${t.hitIndex + 1} / ${groupDigits(t.hitTotal)}` : 'no matches'}
              </span>
              <button type="button" className="icon" aria-label="Previous match" onClick={() => void t.gotoHit(-1)} disabled={!t.hitTotal}>
                ↑
              </button>
              <button type="button" className="icon" aria-label="Next match" onClick={() => void t.gotoHit(1)} disabled={!t.hitTotal}>
                ↓
              </button>
              <button type="button" className="icon" aria-label="Clear search" onClick={() => t.clearSearch()}>
                ×
              </button>
            </>
          ) : (
            <button type="submit">Find</button>
          )}
        </form>
        <div className="tree-tools">
          <select aria-label="Sort" value={`${t.sort.by}-${t.sort.order}`} onChange={(e) => {
            const [by, order] = e.target.value.split('-') as ['name' | 'size', 'asc' | 'desc'];
            t.setSort({ by, order });
          }}>
            <option value="name-asc">Name ↑</option>
            <option value="name-desc">Name ↓</option>
            <option value="size-desc">Size ↓</option>
            <option value="size-asc">Size ↑</option>
          </select>
          <button onClick={() => void t.expandAll()} title="Expand all folders">
            Expand
          </button>
          <button onClick={() => t.collapseAll()} title="Collapse all folders">
            Collapse
          </button>
          <label className="check">
            <input type="checkbox" checked={columns} onChange={(e) => setColumns(e.target.checked)} /> Columns
          </label>
          {/* Change filters only mean something in a diff view. Last in the row, and kept in place (hidden)
              otherwise, so switching between the final image and a layer moves none of the other tools. */}
          <div className={'seg filters' + (isDiff ? '' : ' off')} role="group" aria-label="Show changes" aria-hidden={!isDiff || undefined}>
            {KINDS.map((k) => (
              <button key={k} className={`c-${k}` + (t.changes.includes(k) ? ' on' : '')} aria-pressed={t.changes.includes(k)} onClick={() => toggleKind(k)} disabled={!isDiff} tabIndex={isDiff ? undefined : -1}>
                {k}
              </button>
            ))}
          </div>
        </div>
      </div>
      {warning && (
        <div className="warning-banner" role="status">
          {warning}
        </div>
      )}
      <ErrorBanner message={t.searchError} />
      <ErrorBanner message={t.error} />
      <div className={'tree-header' + (columns ? ' with-cols' : '')}>
        <span>Name</span>
        {columns && (
          <>
            <span>Mode</span>
            <span>uid:gid</span>
            <span className="num">Size</span>
          </>
        )}
      </div>
      <div className="tree-list" ref={parentRef} tabIndex={0} onKeyDown={onKeyDown} role="tree" aria-label="Files" data-rows={rows.length}>
        {t.loadingRoot && rows.length === 0 && <div className="placeholder">Reading the tree…</div>}
        {!t.loadingRoot && rows.length === 0 && !t.error && <div className="placeholder">Nothing here{t.changes.length ? ' with these changes' : ''}.</div>}
        <div style={{ height: virt.getTotalSize(), position: 'relative' }}>
          {virt.getVirtualItems().map((vi) => {
            const r = rows[vi.index]!;
            const e = r.entry;
            const sel = e.path === t.selected;
            return (
              <div
                key={e.path}
                role="treeitem"
                aria-selected={sel}
                aria-expanded={e.type === 'dir' ? r.expanded : undefined}
                aria-level={r.depth + 1}
                data-path={e.path}
                data-change={e.change}
                className={`tree-row${sel ? ' selected' : ''}${e.change ? ' ch-' + e.change : ''}${e.match ? ' match' : ''}${columns ? ' with-cols' : ''}`}
                style={{ transform: `translateY(${vi.start}px)`, height: ROW_H }}
                onClick={() => {
                  t.select(e.path);
                  if (e.type === 'dir') t.toggle(e.path);
                  openEntry(e);
                }}
              >
                <span className="tree-name" style={{ paddingLeft: 6 + r.depth * 14 }}>
                  <span className="twisty">{e.type === 'dir' ? (r.loading ? '…' : r.expanded ? '▾' : '▸') : ''}</span>
                  <span className={`fname t-${e.type}`}>{e.name}</span>
                  {e.linkname && <span className="link-target muted"> → {e.linkname}</span>}
                  {e.change === 'removed' && (
                    <span className="removed-by small" title={`removed in layer ${e.layer + 1}`}>
                      removed in layer {e.layer + 1}
                    </span>
                  )}
                  {e.change === 'modified' && e.changed?.length ? (
                    <span className="small muted changed-aspects" title={`changed: ${e.changed.join(', ')}`}>
                      ({e.changed.join(', ')})
                    </span>
                  ) : null}
                </span>
                {columns && (
                  <>
                    <span className="mono mode">{modeString(e.type, e.mode)}</span>
                    <span className="mono ids">
                      {e.uid}:{e.gid}
                    </span>
                    <span className="num" title={`${e.type === 'dir' ? (e.totalSize ?? 0) : e.size} bytes`}>
                      {e.type === 'dir' ? (e.totalSize !== undefined ? humanBytes(e.totalSize) : '') : humanBytes(e.size)}
                    </span>
                  </>
                )}
              </div>
            );
          })}
        </div>
      </div>
      <div className="tree-status">
        <div className="legend" aria-label="Legend">
          <span className="c-added">■ added</span>
          <span className="c-modified">■ modified</span>
          <span className="c-removed">■ removed</span>
          <span className="muted">{groupDigits(rows.length)} rows</span>
        </div>
        {t.selected && (
          <div className="sel-path">
            <span className="mono wrap">{t.selected}</span> <Copy text={t.selected} label="Copy path" />
          </div>
        )}
      </div>
    </section>
  );
}
