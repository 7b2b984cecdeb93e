import { IPC_CHANNEL, SHELL_METHODS, type Envelope, type MethodName, type SerializedError } from '../shared/api/contract.js';
import type * as Validate from '../shared/api/validate.js';
import { isAppUrl } from './security.js';

// Validation brings Ajv (~270 kB unminified, ~65 ms to load): loaded on the first call, not before the
// window is shown.
let validation: Promise<typeof Validate> | undefined;
const argsProblem = async (method: string, args: unknown) => (await (validation ??= import('../shared/api/validate.js'))).argsProblem(method, args);

// The one IPC channel, registered on an ipcMain-like object (plain objects in tests; electron cannot run
// there). Order of checks: sender frame (our main frame, app:// origin) → method allow-list → argument
// validation → shell method or the core. Everything comes back as an Envelope: errors keep their code.

export interface FrameLike {
  url: string;
  parent?: FrameLike | null;
  /** WebFrameMain ids: a frame is identified by (processId, routingId), not by object identity. */
  processId?: number;
  routingId?: number;
}
export interface SenderLike {
  id: number;
  mainFrame?: FrameLike;
}
export interface InvokeEventLike {
  sender: SenderLike;
  senderFrame: FrameLike | null;
}
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export type ShellHandlers = { [M in (typeof SHELL_METHODS)[number]]: (args: never, sender: SenderLike) => Promise<unknown> };

export interface IpcDeps {
  /** The core (utility process) dispatch. */
  dispatch(method: string, args: unknown): Promise<Envelope>;
  shell: ShellHandlers;
  /** Only our windows may call (not a webContents created by something else). */
  isOurWindow(sender: SenderLike): boolean;
}

const fail = (code: SerializedError['code'], message: string): Envelope => ({ ok: false, error: { code, message } });

/** The sender check on its own, for tests and for event delivery. */
export function senderProblem(event: InvokeEventLike, isOurWindow: (s: SenderLike) => boolean): string | undefined {
  const frame = event.senderFrame;
  if (!frame) return 'the calling frame is gone';
  if (!isOurWindow(event.sender)) return 'the caller is not an OCI Explorer window';
  if (frame.parent) return 'only the top frame may call the API';
  const main = event.sender.mainFrame;
  if (main && frame !== main && (frame.routingId === undefined || frame.routingId !== main.routingId || frame.processId !== main.processId)) {
    return 'only the top frame may call the API';
  }
  if (!isAppUrl(frame.url)) return `calls from ${safeOrigin(frame.url)} are not allowed`;
  return undefined;
}

function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'an unknown page';
  }
}

export async function handleInvoke(deps: IpcDeps, event: InvokeEventLike, method: unknown, args: unknown): Promise<Envelope> {
  const who = senderProblem(event, deps.isOurWindow);
  if (who) return fail('FORBIDDEN', `Refused: ${who}.`);
  if (typeof method !== 'string') return fail('INVALID_ARGUMENT', 'The method name must be a string.');
  const problem = await argsProblem(method, args ?? {});
  if (problem) return fail('INVALID_ARGUMENT', `Invalid request to ${method}: ${problem}.`);
  if ((SHELL_METHODS as readonly string[]).includes(method)) {
    try {
      const fn = deps.shell[method as (typeof SHELL_METHODS)[number]] as (a: unknown, s: SenderLike) => Promise<unknown>;
      return { ok: true, value: await fn(args ?? {}, event.sender) };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return fail((err.code as SerializedError['code']) ?? 'INTERNAL', err.message ?? String(e));
    }
  }
  return deps.dispatch(method as MethodName, args ?? {});
}

export function registerIpc(ipcMain: IpcMainLike, deps: IpcDeps): () => void {
  ipcMain.handle(IPC_CHANNEL, (event, method, args, ...extra) => {
    if (extra.length) return Promise.resolve(fail('INVALID_ARGUMENT', 'The API takes one argument object.'));
    return handleInvoke(deps, event, method, args);
  });
  return () => ipcMain.removeHandler(IPC_CHANNEL);
}
