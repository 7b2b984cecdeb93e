import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { ExplorerError, type ErrorCode } from '../errors.js';
import { indexLayerStream, isPersistable, type IndexLayerOptions } from './indexer.js';
import { serializeIndex } from './store.js';

// Worker entry: receives one layer's blob bytes (already verified by the main thread, which reads
// the source), decodes + scans them, and sends back the serialized index (transferred, no copy).

export type ToWorker =
  | { type: 'start'; job: Omit<IndexLayerOptions, 'signal' | 'onProgress'> }
  | { type: 'chunk'; data: Uint8Array }
  | { type: 'end' }
  | { type: 'error'; code: ErrorCode; message: string };

export type FromWorker =
  | { type: 'ack' }
  | { type: 'progress'; bytesDone: number; entries: number }
  | { type: 'done'; index: ArrayBuffer; persistable: boolean }
  | { type: 'fail'; code: ErrorCode; message: string };

const port = parentPort!;
let input: Readable | undefined;
let owed = 0;
const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);

port.on('message', (m: ToWorker) => {
  if (m.type === 'start') {
    owed = 0;
    input = new Readable({
      read() {
        while (owed > 0) {
          owed--;
          post({ type: 'ack' });
        }
      },
    });
    const job = m.job;
    indexLayerStream(input, { ...job, onProgress: (p) => post({ type: 'progress', ...p }) })
      .then((idx) => {
        const buf = serializeIndex(idx);
        const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
        post({ type: 'done', index: ab, persistable: isPersistable(idx) }, [ab]);
      })
      .catch((e: unknown) => {
        const err = e instanceof ExplorerError ? e : new ExplorerError('INTERNAL', String(e));
        post({ type: 'fail', code: err.code, message: err.message });
      });
  } else if (m.type === 'chunk') {
    if (input!.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength))) post({ type: 'ack' });
    else owed++;
  } else if (m.type === 'end') {
    input!.push(null);
  } else if (m.type === 'error') {
    input!.destroy(new ExplorerError(m.code, m.message));
  }
});
