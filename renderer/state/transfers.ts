import { create } from 'zustand';
import type { ExtractResult, FileView, ImageRef, OperationId, Unsubscribe } from '../../shared/api/contract.js';
import { errorFromUnknown } from '../../shared/api/errors.js';
import { newOperationId } from '../../shared/api/ids.js';
import type { TransferProgress } from '../../shared/ui/progress.js';
import { api } from './api.js';

// Extract folder… and Save as…: the running and finished jobs, their progress (extract-progress and
// operation events under the job's opId) and Cancel. State lives here so a job survives the viewer
// showing another file meanwhile.

export type JobKind = 'extract' | 'save';
export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

export interface Job extends TransferProgress {
  opId: OperationId;
  kind: JobKind;
  image: ImageRef;
  /** The folder or file in the image. */
  path: string;
  /** Where it is written (on the machine running the core). */
  target: string;
  state: JobState;
  /** Cancel was asked and the core has not answered yet. */
  cancelling?: boolean;
  extracted?: ExtractResult;
  saved?: { target: string; bytes: number };
  /** The core's sentence: why it failed, or that it was cancelled. */
  message?: string;
}

interface TransfersState {
  jobs: Job[];
  /** Subscribes to the core's events (once, from the App). */
  listen(): Unsubscribe;
  extract(image: ImageRef, path: string, target: string, upTo?: number): Promise<Job>;
  save(image: ImageRef, view: FileView | undefined, path: string, target: string): Promise<Job>;
  cancel(opId: OperationId): Promise<void>;
  dismiss(opId: OperationId): void;
}

/** Finished jobs kept (the newest); running ones are always kept. */
const KEEP_FINISHED = 10;

export const useTransfers = create<TransfersState>((set, get) => {
  const patch = (opId: OperationId, p: Partial<Job>) => set((s) => ({ jobs: s.jobs.map((j) => (j.opId === opId ? { ...j, ...p } : j)) }));
  const find = (opId: OperationId) => get().jobs.find((j) => j.opId === opId);

  function add(job: Job) {
    set((s) => {
      const finished = s.jobs.filter((j) => j.state !== 'running');
      const drop = new Set(finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED + 1)).map((j) => j.opId));
      return { jobs: [...s.jobs.filter((j) => !drop.has(j.opId)), job] };
    });
  }

  async function run<T>(job: Job, call: () => Promise<T>, done: (r: T) => Partial<Job>): Promise<Job> {
    add(job);
    try {
      const r = await call();
      patch(job.opId, { state: 'done', cancelling: false, ...done(r) });
    } catch (e) {
      const err = errorFromUnknown(e);
      patch(job.opId, { state: err.code === 'CANCELLED' ? 'cancelled' : 'failed', cancelling: false, message: err.message });
    }
    return find(job.opId)!;
  }

  return {
    jobs: [],
    listen() {
      const a = api();
      const offProgress = a.on('extract-progress', (p) => {
        const j = find(p.opId);
        // Progress only rises; a late event never moves a finished job back.
        if (!j || j.state !== 'running' || p.bytes < j.bytes) return;
        patch(p.opId, { files: p.files, bytes: p.bytes, ...(p.totalBytes !== undefined ? { totalBytes: p.totalBytes } : {}) });
      });
      const offOps = a.on('operation', (o) => {
        const j = find(o.opId);
        if (!j || j.state !== 'running' || o.state === 'running') return;
        // The call's answer says the same; whichever arrives first ends the job.
        if (o.state === 'cancelled' || o.state === 'failed') patch(o.opId, { state: o.state, cancelling: false, ...(o.error ? { message: o.error.message } : {}) });
      });
      return () => {
        offProgress();
        offOps();
      };
    },
    extract(image, path, target, upTo) {
      const opId = newOperationId();
      const job: Job = { opId, kind: 'extract', image, path, target, state: 'running', files: 0, bytes: 0 };
      return run(job, () => api().extract({ image, path, target, opId, ...(upTo !== undefined ? { upTo } : {}) }), (r) => ({ extracted: r, target: r.target, files: r.files, bytes: r.bytes, totalBytes: r.bytes }));
    },
    save(image, view, path, target) {
      const opId = newOperationId();
      const job: Job = { opId, kind: 'save', image, path, target, state: 'running', files: 0, bytes: 0 };
      return run(job, () => api().saveFile({ image, path, target, opId, ...(view ? { view } : {}) }), (r) => ({ saved: r, target: r.target, files: 1, bytes: r.bytes, totalBytes: r.bytes }));
    },
    async cancel(opId) {
      const j = find(opId);
      if (!j || j.state !== 'running') return;
      patch(opId, { cancelling: true });
      try {
        const r = await api().cancel({ opId });
        // Not running any more in the core: its answer (done or failed) is on its way.
        if (!r.cancelled) patch(opId, { cancelling: false });
      } catch (e) {
        patch(opId, { cancelling: false, message: errorFromUnknown(e).message });
      }
    },
    dismiss(opId) {
      set((s) => ({ jobs: s.jobs.filter((j) => j.opId !== opId || j.state === 'running') }));
    },
  };
});
