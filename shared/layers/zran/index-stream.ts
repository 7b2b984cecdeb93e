import { Duplex } from 'node:stream';
import { inflateChunks, openInflater } from './inflater.js';
import type { RestartPointsBuilder } from './points.js';

/** Windows are stored deflated at level 1: 4 % bigger than at 6, several times faster (docs/restart-points.md). */
const WINDOW_LEVEL = 1;
/** A gzip member start is kept as a point once this much output has passed since the last point. */
const MEMBER_SPAN = 64 * 1024;

/** gunzip for the index pass: the same bytes as zlib.createGunzip, plus restart points into `b`. */
export function gzipPointsStream(b: RestartPointsBuilder, js = false): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<Buffer>) {
    const inf = openInflater({ record: true, span: b.span, memberSpan: MEMBER_SPAN, level: WINDOW_LEVEL }, { js });
    yield* inflateChunks(source, inf, {
      onPoints: (ps) => {
        for (const p of ps) b.add(p);
      },
      checkEnd: true,
    });
  });
}
