import { ExplorerError, toExplorerError } from '../errors.js';
import type { OperationEvent, OperationKind, SerializedError, SourceId } from './contract.js';

// The running long operations: each registered under the caller's opId (so it can cancel before the call
// returns), announced by `operation` events, and mapped to CANCELLED when aborted.

export function serializeError(e: unknown): SerializedError {
  const x = toExplorerError(e);
  const out: SerializedError = { code: x.code, message: x.message };
  if (x.details) out.details = JSON.parse(JSON.stringify(x.details)) as Record<string, unknown>;
  return out;
}

interface RunningOp {
  controller: AbortController;
  event: OperationEvent;
}

export interface Operations {
  run<T>(kind: OperationKind, opId: string | undefined, label: string, sourceId: SourceId | undefined, fn: (signal: AbortSignal, op: OperationEvent) => Promise<T>): Promise<T>;
  cancel(opId: string): boolean;
  list(): OperationEvent[];
  /** Aborts the operations of one source (closing it) or all of them. */
  abort(sourceId?: SourceId): void;
}

export function createOperations(emit: (e: OperationEvent) => void): Operations {
  const ops = new Map<string, RunningOp>();
  return {
    async run(kind, opId, label, sourceId, fn) {
      const id = opId ?? `op-auto-${Math.random().toString(36).slice(2, 12)}`;
      if (ops.has(id)) throw new ExplorerError('INVALID_ARGUMENT', `Operation id ${id} is already running; use a fresh id from newOperationId().`);
      const controller = new AbortController();
      const event: OperationEvent = { opId: id, kind, state: 'running', label };
      if (sourceId) event.sourceId = sourceId;
      ops.set(id, { controller, event });
      emit({ ...event });
      try {
        const result = await fn(controller.signal, event);
        if (controller.signal.aborted) throw new ExplorerError('CANCELLED', 'The operation was cancelled.');
        emit({ ...event, state: 'done' });
        return result;
      } catch (e) {
        const err = controller.signal.aborted ? new ExplorerError('CANCELLED', `${label} was cancelled.`) : toExplorerError(e);
        emit({ ...event, state: err.code === 'CANCELLED' ? 'cancelled' : 'failed', error: serializeError(err) });
        throw err;
      } finally {
        ops.delete(id);
      }
    },
    cancel(opId) {
      const op = ops.get(opId);
      op?.controller.abort();
      return op !== undefined;
    },
    list: () => [...ops.values()].map((o) => ({ ...o.event })),
    abort(sourceId) {
      for (const op of ops.values()) if (sourceId === undefined || op.event.sourceId === sourceId) op.controller.abort();
    },
  };
}
