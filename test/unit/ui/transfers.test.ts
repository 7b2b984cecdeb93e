import { beforeAll, describe, expect, it } from 'vitest';
import type { ExplorerApi, ExplorerEvents, ExtractResult, ImageRef } from '../../../shared/api/contract.js';
import type { useTransfers as UseTransfersHook } from '../../../renderer/state/transfers.js';

// Extract folder… / Save as… jobs against a fake core: progress from extract-progress events under the
// job's opId, Cancel through cancel({opId}), and the outcome in the core's words.

type Listener = (p: unknown) => void;
const listeners = new Map<string, Set<Listener>>();
const emit = <K extends keyof ExplorerEvents>(event: K, payload: ExplorerEvents[K]) => listeners.get(event)?.forEach((l) => l(payload));
const calls: { method: string; args: Record<string, unknown> }[] = [];
let finish: ((r: ExtractResult) => void) | undefined;
let fail: ((e: unknown) => void) | undefined;

const fake = {
  on: (event: string, l: Listener) => {
    if (!listeners.has(event)) listeners.set(event, new Set());
    listeners.get(event)!.add(l);
    return () => void listeners.get(event)!.delete(l);
  },
  extract: (args: Record<string, unknown>) => {
    calls.push({ method: 'extract', args });
    return new Promise<ExtractResult>((res, rej) => {
      finish = res;
      fail = rej;
    });
  },
  saveFile: async (args: Record<string, unknown>) => {
    calls.push({ method: 'saveFile', args });
    throw { code: 'IO_ERROR', message: 'Could not write /ro/x.txt (read-only file system); choose another place.' };
  },
  cancel: async (args: Record<string, unknown>) => {
    calls.push({ method: 'cancel', args });
    // The core aborts; the extract call then rejects with CANCELLED.
    queueMicrotask(() => fail?.({ code: 'CANCELLED', message: 'Extraction was cancelled.' }));
    return { cancelled: true };
  },
} as unknown as ExplorerApi;

type UseTransfers = typeof UseTransfersHook;
let useTransfers: UseTransfers;
const image: ImageRef = { sourceId: 's1', manifest: 'sha256:' + 'b'.repeat(64) };
const job = (opId: string) => useTransfers.getState().jobs.find((j) => j.opId === opId)!;

beforeAll(async () => {
  (globalThis as { explorer?: ExplorerApi }).explorer = fake;
  ({ useTransfers } = await import('../../../renderer/state/transfers.js'));
  useTransfers.getState().listen();
});

describe('extract jobs', () => {
  it('passes a fresh opId, follows its progress events (not other operations), and ends with the result', async () => {
    const done = useTransfers.getState().extract(image, '/usr', '/tmp/out');
    const opId = calls.at(-1)!.args.opId as string;
    expect(opId).toMatch(/^op-/);
    expect(calls.at(-1)!.args).toMatchObject({ image, path: '/usr', target: '/tmp/out' });
    expect(job(opId)).toMatchObject({ state: 'running', files: 0, bytes: 0 });
    emit('extract-progress', { opId, files: 10, bytes: 1000, totalBytes: 4000 });
    emit('extract-progress', { opId: 'op-someone-else', files: 99, bytes: 3999, totalBytes: 4000 });
    expect(job(opId)).toMatchObject({ files: 10, bytes: 1000, totalBytes: 4000 });
    // An older event arriving late does not move the bar back.
    emit('extract-progress', { opId, files: 12, bytes: 2000, totalBytes: 4000 });
    emit('extract-progress', { opId, files: 11, bytes: 1500, totalBytes: 4000 });
    expect(job(opId).bytes).toBe(2000);
    finish!({ target: '/tmp/out', files: 40, dirs: 5, bytes: 4000, skipped: [{ path: '/usr/dev', reason: 'device nodes need root' }] });
    const j = await done;
    expect(j.state).toBe('done');
    expect(j.extracted?.skipped).toHaveLength(1);
    // Late events after the end change nothing.
    emit('extract-progress', { opId, files: 1, bytes: 4000, totalBytes: 4000 });
    expect(job(opId).files).toBe(40);
  });

  it('Cancel asks the core to cancel that opId; the job ends cancelled with the core sentence', async () => {
    const done = useTransfers.getState().extract(image, '/opt', '/tmp/out2');
    const opId = calls.at(-1)!.args.opId as string;
    emit('extract-progress', { opId, files: 3, bytes: 300, totalBytes: 9000 });
    await useTransfers.getState().cancel(opId);
    expect(calls.at(-1)).toEqual({ method: 'cancel', args: { opId } });
    const j = await done;
    expect(j.state).toBe('cancelled');
    expect(j.message).toBe('Extraction was cancelled.');
    expect(j.cancelling).toBe(false);
  });

  it('a failed save keeps the core sentence; dismiss removes the finished job', async () => {
    const j = await useTransfers.getState().save(image, { kind: 'merged' }, '/etc/hostname', '/ro/x.txt');
    expect(j.state).toBe('failed');
    expect(j.message).toBe('Could not write /ro/x.txt (read-only file system); choose another place.');
    useTransfers.getState().dismiss(j.opId);
    expect(useTransfers.getState().jobs.some((x) => x.opId === j.opId)).toBe(false);
  });

  it('an operation event saying failed ends a running job even before the call answers', () => {
    void useTransfers.getState().extract(image, '/var', '/tmp/out3');
    const opId = calls.at(-1)!.args.opId as string;
    emit('operation', { opId, kind: 'extract', state: 'failed', label: 'Extracting to /tmp/out3', error: { code: 'EXTRACT_FAILED', message: 'Extraction into /tmp/out3 failed (disk full); what was written has been removed.' } });
    expect(job(opId).state).toBe('failed');
    expect(job(opId).message).toContain('disk full');
  });
});
