import { buildGraph } from '../graph/build.js';
import { listImages, selectImage } from '../graph/select.js';
import type { ImageEntry, ImageGraph } from '../graph/types.js';
import { openSource, type OpenedSource } from '../sources/open.js';
import { createLayerEngine } from './layer-engine.js';
import type { ImageSource } from '../sources/types.js';
import type { DiffSummary, ChangesPage, DirPage, EfficiencyReport, ExtractResult, FileChunk, ImageSummary, MethodArgs, SearchPage, StatResult } from './contract.js';

// What the handler table needs from the rest of the core, as one object so tests can hand in fakes and
// so a backend that has not landed yet is an absent member (the handler then says "not available yet")
// instead of a silent stub. Wire new core functions here as they are committed.

export interface ProgressSink {
  /** Long operations report through this; the handler turns it into events. */
  indexProgress?(p: { layer: number; digest: string; bytesDone: number; bytesTotal: number; entries: number; done: boolean; cached?: boolean }): void;
  extractProgress?(p: { files: number; bytes: number; totalBytes?: number; currentPath?: string }): void;
}

type ImageArgs<M extends 'listDir' | 'listDirs' | 'search' | 'diff' | 'listChanges' | 'efficiency' | 'stat' | 'readFile' | 'extract' | 'saveFile'> = Omit<MethodArgs<M>, 'image' | 'opId'>;

/** One opened source as the layer engine sees it. */
export interface EngineImage {
  source: ImageSource;
  graph: ImageGraph;
  image: ImageEntry;
}

/** The layer engine (issue 3) behind the tree/diff/file methods. */
export interface LayerEngine {
  /** Drops what the engine holds for a closed source (its images' cache pins included). */
  forget?(source: ImageSource): Promise<void>;
  summarize(img: EngineImage, opts: { signal: AbortSignal; progress: ProgressSink }): Promise<Omit<ImageSummary, 'ref'>>;
  listDir(img: EngineImage, args: ImageArgs<'listDir'>, signal: AbortSignal): Promise<DirPage>;
  listDirs(img: EngineImage, args: ImageArgs<'listDirs'>, signal: AbortSignal): Promise<{ pages: DirPage[]; missing: string[] }>;
  search(img: EngineImage, args: ImageArgs<'search'>, signal: AbortSignal): Promise<SearchPage>;
  diff(img: EngineImage, args: ImageArgs<'diff'>, signal: AbortSignal): Promise<DiffSummary>;
  listChanges(img: EngineImage, args: ImageArgs<'listChanges'>, signal: AbortSignal): Promise<ChangesPage>;
  efficiency(img: EngineImage, args: ImageArgs<'efficiency'>, signal: AbortSignal): Promise<EfficiencyReport>;
  stat(img: EngineImage, args: ImageArgs<'stat'>, signal: AbortSignal): Promise<StatResult>;
  readFile(img: EngineImage, args: ImageArgs<'readFile'>, signal: AbortSignal): Promise<FileChunk>;
  extract(img: EngineImage, args: ImageArgs<'extract'>, opts: { signal: AbortSignal; progress: ProgressSink }): Promise<ExtractResult>;
  saveFile(img: EngineImage, args: ImageArgs<'saveFile'>, opts: { signal: AbortSignal; progress: ProgressSink }): Promise<{ target: string; bytes: number }>;
}

export interface Core {
  openSource(spec: string, opts: { signal?: AbortSignal }): Promise<OpenedSource>;
  /** graph/build.ts (absent until committed). */
  buildGraph?(source: ImageSource, opts: { signal?: AbortSignal }): Promise<ImageGraph>;
  /** graph/select.ts: the runnable images of a graph. */
  listImages?(graph: ImageGraph): ImageEntry[];
  /** graph/select.ts: one image by manifest digest / platform / tag, or the default. */
  selectImage?(graph: ImageGraph, want: { manifest?: string; platform?: string; tag?: string }): ImageEntry;
  layers?: LayerEngine;
}

/** The real core, with whatever has landed so far. */
export function defaultCore(): Core {
  return {
    openSource,
    layers: createLayerEngine(),
    buildGraph: (source, opts) => buildGraph(source, opts.signal ? { signal: opts.signal } : {}),
    listImages,
    selectImage: (graph, want) => {
      const choice: { digest?: string; platform?: string; tag?: string } = {};
      if (want.manifest) choice.digest = want.manifest;
      if (want.platform) choice.platform = want.platform;
      if (want.tag) choice.tag = want.tag;
      return selectImage(graph, choice);
    },
  };
}
