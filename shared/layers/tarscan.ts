import { ExplorerError } from '../errors.js';
import { BLOCK, TarFatal, TarHeaderReader, type BadEntry, type TarHeader } from '../tar/header.js';

// A push-based tar reader that works chunk by chunk with no per-entry streams, and knows the offset of
// every entry's data in the stream: the index needs offsets for random reads, and one pass over the
// bytes is what makes indexing zlib-speed. Headers are parsed (and validated) by tar/header.ts.

export type { TarHeader, BadEntry } from '../tar/header.js';

export interface TarSink {
  entry(h: TarHeader): void;
  /** An entry the parser refused (skipped; its data is not fed). */
  bad(b: BadEntry): void;
  /** Content bytes of the current entry (files only are fed; others are skipped). */
  data(chunk: Buffer): void;
  entryEnd(): void;
}

const enum S {
  Header,
  Data,
  Meta,
  Pad,
  End,
}

/** Feeds tar bytes; calls the sink per entry. Throws LAYER_TAR_INVALID on a corrupt header or a truncated tar at end(). */
export class TarScanner {
  /** Bytes consumed so far (= offset in the uncompressed stream). */
  pos = 0;
  /** True once the end-of-archive marker was seen (data after it is ignored). */
  ended = false;
  private state = S.Header;
  private readonly reader = new TarHeaderReader();
  private hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  private remaining = 0;
  private pad = 0;
  private meta: Buffer[] = [];
  /** The metadata body being read is kept (false: too big, skipped). */
  private keepMeta = false;
  /** Data of the current entry goes to the sink (a regular file that was not refused). */
  private feedData = false;
  private inEntry = false;
  entries = 0;

  constructor(
    private readonly sink: TarSink,
    private readonly label: string,
  ) {}

  write(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case S.End:
          this.pos += n - i;
          return;
        case S.Header: {
          const take = Math.min(BLOCK - this.hdrFill, n - i);
          chunk.copy(this.hdr, this.hdrFill, i, i + take);
          this.hdrFill += take;
          i += take;
          this.pos += take;
          if (this.hdrFill === BLOCK) {
            this.hdrFill = 0;
            this.onHeader(this.pos - BLOCK);
          }
          break;
        }
        case S.Data:
        case S.Meta: {
          const take = Math.min(this.remaining, n - i);
          const part = chunk.subarray(i, i + take);
          if (this.state === S.Meta) {
            if (this.keepMeta) this.meta.push(Buffer.from(part));
          } else if (this.feedData) this.sink.data(part);
          i += take;
          this.pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.afterData();
          break;
        }
        case S.Pad: {
          const take = Math.min(this.pad, n - i);
          i += take;
          this.pos += take;
          this.pad -= take;
          if (this.pad === 0) this.state = S.Header;
          break;
        }
      }
    }
  }

  /** Call at the end of the stream. A tar cut inside an entry is an error; a missing end marker is tolerated. */
  end(): void {
    if (this.state === S.End) return;
    if (this.state === S.Header && this.hdrFill === 0) return;
    throw new ExplorerError('LAYER_TAR_INVALID', `The tar stream of ${this.label} ends in the middle of an entry (at byte ${this.pos}): the layer is truncated. Entries before it are shown.`, { offset: this.pos });
  }

  private startBody(size: number, state: S.Data | S.Meta): void {
    this.remaining = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    this.state = state;
    if (size === 0) this.afterData();
  }

  private afterData(): void {
    if (this.state === S.Meta) {
      if (this.keepMeta) this.reader.meta(Buffer.concat(this.meta));
      this.meta = [];
    } else if (this.inEntry) {
      this.sink.entryEnd();
    }
    this.state = this.pad ? S.Pad : S.Header;
  }

  private onHeader(at: number): void {
    let step;
    try {
      step = this.reader.header(this.hdr, at);
    } catch (e) {
      if (!(e instanceof TarFatal)) throw e;
      throw new ExplorerError('LAYER_TAR_INVALID', `${this.label} has a ${e.reason}: the layer is damaged. Entries before it are shown.`, { offset: e.offset });
    }
    if (step.kind === 'end') {
      this.state = S.End;
      this.ended = true;
      return;
    }
    if (step.kind === 'meta') {
      this.keepMeta = step.keep;
      this.startBody(step.size, S.Meta);
      return;
    }
    this.inEntry = step.entry !== undefined;
    if (step.entry) {
      this.entries++;
      this.sink.entry(step.entry);
    } else this.sink.bad(step.bad!);
    this.feedData = step.entry?.type === 'file';
    this.startBody(step.dataSize, S.Data);
  }
}
