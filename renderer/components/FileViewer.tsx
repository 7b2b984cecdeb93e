import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import { groupDigits, humanBytes, modeString } from '../../shared/ui/format.js';
import { hexRow, languageOf } from '../../shared/ui/hex.js';
import { api, errorText } from '../state/api.js';
import { highlight, type Tok } from '../state/highlight.js';
import { useSources } from '../state/sources.js';
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
  const [target, setTarget] = useState<string>();
  const [msg, setMsg] = useState<{ ok: boolean; text: string }>();
  const e = v.entry;
  if (!e || !v.image || !caps?.extract) return null;
  const isDir = e.type === 'dir';
  const run = async (path: string) => {
    setMsg(undefined);
    try {
      if (isDir) {
        const upTo = v.view?.kind === 'merged' ? v.view.upTo : v.view?.layer;
        const r = await api().extract({ image: v.image!, path: e.path, target: path, ...(upTo !== undefined ? { upTo } : {}) });
        setMsg({ ok: true, text: `Extracted ${groupDigits(r.files)} files (${humanBytes(r.bytes)}) to ${r.target}${r.skipped.length ? `; ${r.skipped.length} skipped` : ''}.` });
      } else {
        const r = await api().saveFile({ image: v.image!, path: e.path, target: path, ...(v.view ? { view: v.view } : {}) });
        setMsg({ ok: true, text: `Saved ${groupDigits(r.bytes)} bytes to ${r.target}.` });
      }
      setTarget(undefined);
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
    }
  };
  const start = async () => {
    if (caps.nativeDialogs) {
      try {
        const r = await api().chooseTarget({ kind: isDir ? 'folder' : 'file', defaultName: e.name });
        if (r.path) await run(r.path);
      } catch (err) {
        setMsg({ ok: false, text: errorText(err) });
      }
    } else setTarget('');
  };
  return (
    <div className="save">
      <button onClick={() => void start()}>{isDir ? 'Extract folder…' : 'Save as…'}</button>
      {target !== undefined && (
        <form
          className="save-form"
          onSubmit={(ev) => {
            ev.preventDefault();
            if (target.trim()) void run(target.trim());
          }}
        >
          <input autoFocus aria-label="Target path on the server" placeholder={isDir ? 'Folder on the server' : 'File path on the server'} value={target} onChange={(ev) => setTarget(ev.target.value)} />
          <button type="submit">{isDir ? 'Extract' : 'Save'}</button>
          <button type="button" onClick={() => setTarget(undefined)}>
            Cancel
          </button>
        </form>
      )}
      {msg && <div className={msg.ok ? 'note' : 'error-banner'} role={msg.ok ? 'status' : 'alert'}>{msg.text}</div>}
    </div>
  );
}
