// Preloaded into a benchmarked process (`node --import ./bench/read-probe.mjs …`): at exit, appends
// the process's read counters from /proc/self/io (rchar = bytes returned by read(2), page cache
// included) to the file named by BENCH_READ_PROBE, so a benchmark can show what the process read.
import { appendFileSync, readFileSync } from 'node:fs';

const out = process.env.BENCH_READ_PROBE;
if (out) {
  process.on('exit', () => {
    try {
      const io = readFileSync('/proc/self/io', 'utf8');
      const rchar = /rchar:\s*(\d+)/.exec(io)?.[1];
      appendFileSync(out, `${rchar ?? 'unknown'}\n`);
    } catch {
      appendFileSync(out, 'unknown\n');
    }
  });
}
