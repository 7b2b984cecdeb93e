import { METHODS, type ExplorerApi } from './contract.js';
import type { SerializedError } from './results.js';

// How failures cross the seam, on both transports: ApiError on the UI side, the marker encoding the
// desktop preload needs (contextBridge keeps only an Error's message), and the decoding back. Pure.

/** What every API method rejects with, on both transports (after client-side decoding). */
export class ApiError extends Error {
  readonly code: SerializedError['code'];
  readonly details?: Record<string, unknown>;
  constructor(e: SerializedError) {
    super(e.message);
    this.name = 'ApiError';
    this.code = e.code;
    if (e.details) this.details = e.details;
  }
  toJSON(): SerializedError {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

// contextBridge keeps only `message` of a rejected Error. The preload rejects with this marker + JSON,
// and errorFromUnknown() turns it back into an ApiError with its code.
const ERROR_MARKER = 'OCI_EXPLORER_ERROR:';

export function encodeErrorMessage(e: SerializedError): string {
  return ERROR_MARKER + JSON.stringify(e);
}

function isSerializedError(x: unknown): x is SerializedError {
  return !!x && typeof x === 'object' && typeof (x as SerializedError).code === 'string' && typeof (x as SerializedError).message === 'string';
}

/** Any rejection (ApiError, marker message, serialized shape, plain Error) → ApiError. */
export function errorFromUnknown(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isSerializedError(e)) return new ApiError(e);
  const msg = e instanceof Error ? e.message : String(e);
  const i = msg.indexOf(ERROR_MARKER);
  if (i >= 0) {
    try {
      const parsed: unknown = JSON.parse(msg.slice(i + ERROR_MARKER.length));
      if (isSerializedError(parsed)) return new ApiError(parsed);
    } catch {
      // fall through: not our marker after all
    }
  }
  return new ApiError({ code: 'INTERNAL', message: msg });
}

/** Wraps a raw api (window.explorer) so rejections are ApiError with their code. */
export function withDecodedErrors(raw: ExplorerApi): ExplorerApi {
  const api: Record<string, unknown> = { on: raw.on.bind(raw) };
  for (const m of METHODS) {
    const fn = raw[m] as (a?: unknown) => Promise<unknown>;
    api[m] = (args?: unknown) => fn(args ?? {}).catch((e: unknown) => Promise.reject(errorFromUnknown(e)));
  }
  return api as ExplorerApi;
}
