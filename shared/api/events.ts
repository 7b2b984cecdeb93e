import type { Problem } from '../errors.js';
import type { VerifyState } from '../graph/types.js';
import type { Digest } from '../oci/digest.js';
import type { SerializedError, SourceHandle } from './results.js';
import { typed, type OperationId, type SourceId, type TypeOf } from './schemas.js';

// The events the core (and the desktop preload) send to the UI: declared once in EVENT_TABLE, which
// gives both the payload types (ExplorerEvents) and the runtime list (EVENTS). Payloads come from our
// own core, so they are typed without a runtime schema. Declarations only.

export type OperationKind = 'open' | 'index' | 'extract' | 'save' | 'pull' | 'docker-load';
export type OperationState = 'running' | 'done' | 'failed' | 'cancelled';

export interface OperationProgress {
  done: number;
  total?: number;
  unit: 'bytes' | 'entries' | 'layers' | 'files';
}

/** The life of every long operation; specific *-progress events add detail. */
export interface OperationEvent {
  opId: OperationId;
  kind: OperationKind;
  state: OperationState;
  /** For an activity list, e.g. "Indexing layer 3/7". */
  label: string;
  sourceId?: SourceId;
  progress?: OperationProgress;
  error?: SerializedError;
}

export interface IndexProgressEvent {
  opId: OperationId;
  sourceId: SourceId;
  manifest: Digest;
  layer: number;
  digest: Digest;
  /** Compressed bytes read of this layer. */
  bytesDone: number;
  bytesTotal: number;
  entries: number;
  /** True when this layer is finished (from the on-disk cache or a fresh scan). */
  done: boolean;
  cached?: boolean;
}

/**
 * Progress of extract (and saveFile) under the caller's opId: at most one every 100 ms while files are
 * written, then a final one whose counts equal the result's (extract: `bytes === totalBytes`).
 */
export interface ExtractProgressEvent {
  opId: OperationId;
  /** Regular files written so far (links and folders are not counted here). */
  files: number;
  /** File content bytes written so far; rises from event to event. */
  bytes: number;
  /** All the content bytes this extraction writes (the same in every event of one operation). */
  totalBytes?: number;
  /** Not sent by the layer engine today. */
  currentPath?: string;
}

/** Reserved for registry pulls (later issue); the shape may gain optional fields. */
export interface PullProgressEvent {
  opId: OperationId;
  reference: string;
  digest?: Digest;
  bytesDone: number;
  bytesTotal?: number;
}

/**
 * Requests from the shell for the UI to act on. The desktop shell opens menu, argv and second-launch
 * sources itself (the UI learns of them from 'sources-changed'); a drop on the window is sent as
 * `open-spec` (see Capabilities.dropFiles), so the UI opens it and shows why when it cannot. This event
 * is produced in the desktop preload, not by the handler table: web mode never sends it.
 */
export type ShellCommand =
  | { command: 'open-folder' }
  | { command: 'open-archive' }
  | { command: 'open-spec'; spec: string }
  | { command: 'show-sources' };

/** The new verify state and problems of one graph node. */
export interface NodeStateChange {
  digest: Digest;
  verify: VerifyState;
  problems: Problem[];
}

export const EVENT_TABLE = {
  operation: typed<OperationEvent>(),
  'index-progress': typed<IndexProgressEvent>(),
  'extract-progress': typed<ExtractProgressEvent>(),
  'pull-progress': typed<PullProgressEvent>(),
  /**
   * Nodes of a source's graph changed (layers verified or failed when selectImage read them): `nodes`
   * carries their new state; apply it to the graph you hold (getGraph answers the same from now on).
   */
  'graph-changed': typed<{ sourceId: SourceId; digests: Digest[]; nodes: NodeStateChange[] }>(),
  /** The set of open sources changed; `active` is the one to show (newly opened). */
  'sources-changed': typed<{ sources: SourceHandle[]; active?: SourceId }>(),
  command: typed<ShellCommand>(),
};

export type ExplorerEvents = { [K in keyof typeof EVENT_TABLE]: TypeOf<(typeof EVENT_TABLE)[K]> };
export type EventName = keyof ExplorerEvents;
/** The runtime list of events (what the preload and the web client accept). */
export const EVENTS = Object.keys(EVENT_TABLE) as readonly EventName[];

/** One event as it crosses a transport. */
export interface EventEnvelope<K extends EventName = EventName> {
  event: K;
  payload: ExplorerEvents[K];
}
