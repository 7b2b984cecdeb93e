import { CONTRACT, type MethodName } from './contract.js';
import { EVENT_TABLE, type EventName } from './events.js';

// Guards for names that arrive as data (IPC, HTTP): own keys of the contract's tables only, so
// "__proto__", "constructor" or "toString" are never taken for a method or an event.

export function isMethodName(x: unknown): x is MethodName {
  return typeof x === 'string' && Object.hasOwn(CONTRACT, x);
}

export function isEventName(x: unknown): x is EventName {
  return typeof x === 'string' && Object.hasOwn(EVENT_TABLE, x);
}
