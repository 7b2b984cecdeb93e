import type { OperationId } from './schemas.js';

/** A fresh operation id (random, so ids from several windows or tabs never collide). */
export function newOperationId(): OperationId {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return `op-${c.randomUUID()}`;
  return `op-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}
