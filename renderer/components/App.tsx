import { useEffect, type DragEvent } from 'react';
import { api } from '../state/api.js';
import { useGraph } from '../state/graph.js';
import { useImages } from '../state/image.js';
import { useSources } from '../state/sources.js';
import { useTransfers } from '../state/transfers.js';
import { OpenStatus } from './OpenStatus.js';
import { SourceView } from './SourceView.js';
import { StartScreen } from './StartScreen.js';
import { TopBar } from './TopBar.js';

export function App() {
  const active = useSources((s) => s.active);
  const sources = useSources((s) => s.sources);
  useEffect(() => {
    void useSources.getState().init();
    const offIndex = api().on('index-progress', (p) => {
      const text = p.done ? undefined : `Indexing layer ${p.layer + 1}: ${p.entries.toLocaleString('en')} entries`;
      useImages.getState().setProgress(p.sourceId, text);
    });
    const offGraph = api().on('graph-changed', (c) => useGraph.getState().applyNodeChanges(c.sourceId, c.nodes));
    const offTransfers = useTransfers.getState().listen();
    return () => {
      offIndex();
      offGraph();
      offTransfers();
    };
  }, []);
  const theme = useSources((s) => s.theme);
  useEffect(() => {
    if (theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
  }, [theme]);
  const current = sources.find((s) => s.id === active);
  // A path dropped anywhere opens (the start screen, or over an image already showing).
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    useSources.getState().drop({ text: e.dataTransfer.getData('text/plain'), files: e.dataTransfer.files.length });
  };
  return (
    <div className="app" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <TopBar />
      {current && <OpenStatus />}
      <main className="main">{current ? <SourceView key={current.id} source={current} /> : <StartScreen />}</main>
    </div>
  );
}
