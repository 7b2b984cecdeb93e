import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import { groupDigits, humanBytes, modeString } from '../../shared/ui/format.js';
import { hexRow, languageOf } from '../../shared/ui/hex.js';
import { progressFraction, progressLine } from '../../shared/ui/progress.js';
import { api, errorText } from '../state/api.js';
import { highlight, type Tok } from '../state/highlight.js';
import { useImages } from '../state/image.js';
import { useSources } from '../state/sources.js';
import { useTransfers, type Job } from '../state/transfers.js';
import { useTree } from '../state/tree.js';
import { PAGE_BYTES, useViewer } from '../state/viewer.js';
import { Copy } from './Copy.js';
import { ErrorBanner } from './ErrorBanner.js';

const HIGHLIGHT_MAX = 128 * 1024;

export function FileViewer() {
  const v = useViewer();
  const e = v.entry;
  if (!e) return <section className="viewer placeholder">Select a file to view it.</section>;
  const paged = v.size > PAGE_BYTES && v.kind !== 'image';
  const showHex = v.kind === 'hex' || (v.forceHex && v.kind === 'text');
  return (
    <section className="viewer" aria-label="File viewer">
      <header className="viewer-head">
        <div className="viewer-title">
          <span className="mono wrap">{e.path}</span> <Copy text={e.path} label="Copy path" />
        </div>
        <div className="viewer-meta small muted">
          {modeString(e.type, e.mode)} · {e.uid}:{e.gid} · {groupDigits(v.size)} bytes ({humanBytes(v.size)}) · layer {e.layer + 1}
          {e.change && e.change !== 'unchanged' ? ` · ${e.change}` : ''}
        </div>
        {e.linkname && (
          <div className="small">
            {e.type === 'symlink' ? 'Symlink' : 'Hard link'} to <code>{e.linkname}</code>
            {v.resolvedPath && v.resolvedPath !== e.path && (
              <>
                {' '}
                → <code>{v.resolvedPath}</code>{' '}
                <button className="link" onClick={() => void followLink(v.resolvedPath!)}>
                  Follow link
                </button>
              </>
            )}
          </div>
        )}
        <div className="viewer-actions">
          {v.kind === 'text' && (
            <label className="check">
              <input type="checkbox" checked={v.forceHex} onChange={(ev) => v.setForceHex(ev.target.checked)} /> Hex
            </label>
          )}
          <SaveAction />
        </div>
      </header>
      <ErrorBanner message={v.error} />
      {v.loading && !v.data && <div className="muted pad">Reading…</div>}
      {v.kind === 'dir' && <div className="muted pad">A folder. Use “Extract folder…” to write it out.</div>}
      {v.kind === 'special' && <div className="muted pad">A device or FIFO: it has no content to show.</div>}
      {v.kind === 'image' && v.imageUrl && (
        <div className="image-view">
          <img src={v.imageUrl} alt={e.name} />
        </div>
      )}
      {v.data && v.kind === 'text' && !showHex && <TextView data={v.data} name={e.name} highlightable={!paged && v.data.length <= HIGHLIGHT_MAX} />}
      {v.data && showHex && <HexView data={v.data} base={v.offset} />}
      {paged && (
        <div className="pager small">
          <button aria-label="Previous page" title="Previous page" onClick={() => void v.page(-1)} disabled={v.offset === 0 || v.loading}>
            ←
          </button>
          <span>
            bytes {groupDigits(v.offset)}–{groupDigits(v.offset + (v.data?.length ?? 0))} of {groupDigits(v.size)}
          </span>
          <button aria-label="Next page" title="Next page" onClick={() => void v.page(1)} disabled={v.offset + (v.data?.length ?? 0) >= v.size || v.loading}>
            →
          </button>
        </div>
      )}
    </section>
  );
}

async function followLink(path: string) {
  await useTree.getState().reveal(path);
  const row = useTree.getState().rows.find((r) => r.entry.path === path);
  const v = useViewer.getState();
  if (row && v.image && v.view) await v.open(v.image, v.view, row.entry);
}

function TextView({ data, name, highlightable }: { data: Uint8Array; name: string; highlightable: boolean }) {
  const text = useMemo(() => new TextDecoder().decode(data), [data]);
  const lang = languageOf(name) ?? (text.startsWith('#!/bin/sh') || text.startsWith('#!/bin/bash') ? 'shellscript' : undefined);
  const [tokens, setTokens] = useState<{ text: string; lines: Tok[][] }>();
  useEffect(() => {
    if (!highlightable || !lang) return;
    let live = true;
    void highlight(text, lang).then((lines) => live && lines && setTokens({ text, lines }));
    return () => {
      live = false;
    };
  }, [text, lang, highlightable]);
  const lines = tokens?.text === text ? tokens.lines : undefined;
  return (
    <pre className="code mono" data-lang={lang ?? 'text'} data-highlighted={lines ? 'yes' : 'no'}>
      {lines
        ? lines.map((l, i) => (
            <div key={i} className="code-line">
              {l.map(([t, light, dark], j) => (
                <span key={j} style={{ ['--shiki-light' as string]: light, ['--shiki-dark' as string]: dark ?? light }}>
                  {t}
                </span>
              ))}
              {i < lines.length - 1 ? '\n' : ''}
            </div>
          ))
        : text}
    </pre>
  );
}

function HexView({ data, base }: { data: Uint8Array; base: number }) {
  const ref = useRef<HTMLDivElement>(null);
  // 8 bytes per row fit the viewer column at 1280 px without horizontal scrolling.
  const width = 8;
  const count = Math.ceil(data.length / width);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is read fresh each render
  const virt = useVirtualizer({ count, getScrollElement: () => ref.current, estimateSize: () => 18, overscan: 20 });
  return (
    <div className="hex mono" ref={ref} aria-label="Hex view">
      <div style={{ height: virt.getTotalSize(), position: 'relative' }}>
        {virt.getVirtualItems().map((vi) => {
          const r = hexRow(data, vi.index * width, width, base);
          return (
            <div key={vi.index} className="hex-row" style={{ transform: `translateY(${vi.start}px)` }}>
              <span className="hex-off">{r.offset}</span>
              <span className="hex-bytes">{r.hex}</span>
              <span className="hex-ascii">{r.ascii}</span>
            </div>
          );
        })}
      </div>
    </div>
  );
}

function SaveAction() {
  const v = useViewer();
  const caps = useSources((s) => s.caps);
  const layerCount = useImages((s) => (v.image ? s.images[v.image.sourceId]?.summary?.layers.length : undefined));
  const jobs = useTransfers((s) => s.jobs);
  const [target, setTarget] = useState<string>();
  const [chooseError, setChooseError] = useState<string>();
  const e = v.entry;
  if (!e || !v.image || !caps?.extract) return null;
  const image = v.image;
  const isDir = e.type === 'dir';
  const kind = isDir ? 'extract' : 'save';
  // The core extracts the final image only: a folder seen at an earlier layer cannot be extracted yet.
  const upTo = v.view?.kind === 'merged' ? v.view.upTo : v.view?.layer;
  const earlier = isDir && upTo !== undefined && layerCount !== undefined && upTo < layerCount - 1;
  const mine = jobs.filter((j) => j.kind === kind && j.path === e.path && j.image.manifest === image.manifest && j.image.sourceId === image.sourceId);
  const latest = mine.at(-1);
  // Jobs of other files still running stay in sight (with their Cancel) while another file is shown.
  const others = jobs.filter((j) => j.state === 'running' && !mine.includes(j));
  const running = latest?.state === 'running';
  const run = (path: string) => {
    setTarget(undefined);
    const t = useTransfers.getState();
    if (isDir) void t.extract(image, e.path, path);
    else void t.save(image, v.view, e.path, path);
  };
  const start = async () => {
    setChooseError(undefined);
    if (caps.nativeDialogs) {
      try {
        const r = await api().chooseTarget({ kind: isDir ? 'folder' : 'file', defaultName: e.name });
        if (r.path) run(r.path);
      } catch (err) {
        setChooseError(errorText(err));
      }
    } else setTarget('');
  };
  return (
    <div className="save">
      <button onClick={() => void start()} disabled={running || earlier} title={earlier ? 'Only the final image can be extracted for now: select “Final image” in the layer list.' : undefined}>
        {isDir ? 'Extract folder…' : 'Save as…'}
      </button>
      {earlier && <div className="small muted">Extracting works on the final image: select “Final image” in the layer list, then this folder.</div>}
      {target !== undefined && (
        <form
          className="save-form"
          onSubmit={(ev) => {
            ev.preventDefault();
            if (target.trim()) run(target.trim());
          }}
        >
          <input autoFocus aria-label="Target path on the server" placeholder={isDir ? 'Folder on the server' : 'File path on the server'} value={target} onChange={(ev) => setTarget(ev.target.value)} />
          <button type="submit">{isDir ? 'Extract' : 'Save'}</button>
          <button type="button" onClick={() => setTarget(undefined)}>
            Cancel
          </button>
        </form>
      )}
      <ErrorBanner message={chooseError} onClose={() => setChooseError(undefined)} />
      {latest && <JobView job={latest} />}
      {others.map((j) => (
        <JobView key={j.opId} job={j} />
      ))}
    </div>
  );
}

/** One extraction or save: a progress bar with Cancel while it runs, then its outcome in the core's words. */
function JobView({ job }: { job: Job }) {
  const t = useTransfers.getState();
  const what = job.kind === 'extract' ? 'Extracting' : 'Saving';
  if (job.state === 'running') {
    const f = progressFraction(job);
    const line = progressLine(job);
    return (
      <div className="job" role="group" aria-label={`${what} ${job.path}`} data-state="running">
        <div className="job-what small">
          {what} <code className="wrap">{job.path}</code> to <code className="wrap">{job.target}</code>
        </div>
        <div
          className={'job-bar' + (f === undefined ? ' indeterminate' : '')}
          role="progressbar"
          aria-label={`${what} progress`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={f === undefined ? undefined : Math.floor(f * 100)}
          aria-valuetext={line}
        >
          <div style={{ width: f === undefined ? undefined : `${(f * 100).toFixed(1)}%` }} />
        </div>
        <div className="job-foot">
          <span className="job-figures small">{line}</span>
          <button onClick={() => void t.cancel(job.opId)} disabled={job.cancelling} aria-label={`Cancel ${what.toLowerCase()}`}>
            {job.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        </div>
        {job.message && <div className="small error-text">{job.message}</div>}
      </div>
    );
  }
  if (job.state === 'failed') return <ErrorBanner title={job.kind === 'extract' ? 'Extraction failed' : 'Saving failed'} message={job.message ?? 'The operation failed.'} onClose={() => t.dismiss(job.opId)} />;
  return (
    <div className="note job-result" role="status" data-state={job.state}>
      <span className="wrap">{job.state === 'cancelled' ? (job.message ?? 'Cancelled.') : doneText(job)}</span>
      {job.extracted && job.extracted.skipped.length > 0 && (
        <details className="small">
          <summary>Skipped entries</summary>
          <ul className="plain mono">
            {job.extracted.skipped.slice(0, 100).map((s) => (
              <li key={s.path} className="wrap">
                {s.path}: {s.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      <button className="icon" aria-label="Dismiss" onClick={() => t.dismiss(job.opId)}>
        ×
      </button>
    </div>
  );
}

function doneText(job: Job): string {
  if (job.extracted) {
    const r = job.extracted;
    return `Extracted ${groupDigits(r.files)} files (${humanBytes(r.bytes)}) to ${r.target}${r.skipped.length ? `; ${r.skipped.length} skipped` : ''}.`;
  }
  if (job.saved) return `Saved ${groupDigits(job.saved.bytes)} bytes to ${job.saved.target}.`;
  return 'Done.';
}
