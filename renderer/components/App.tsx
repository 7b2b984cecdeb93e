import { useEffect, type DragEvent } from 'react';
import { connectStores } from '../state/connect.js';
import { useSources } from '../state/sources.js';
import { OpenStatus } from './OpenStatus.js';
import { SourceView } from './SourceView.js';
import { StartScreen } from './StartScreen.js';
import { TopBar } from './TopBar.js';

export function App() {
  const active = useSources((s) => s.active);
  const sources = useSources((s) => s.sources);
  // Every event subscription of the stores, disposed on unmount (StrictMode mounts twice in development).
  useEffect(() => connectStores(), []);
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
