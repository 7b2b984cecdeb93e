// Runs one CLI command (as bin/oci-explorer.mjs does) with stdout discarded, then reports this process's
// peak resident set size (KiB) on stderr: the memory test of the bomb classes reads it. VmHWM from
// /proc is this program's own peak; getrusage's maxRSS also counts the parent's memory before exec
// (Linux keeps it across fork + exec), so it is only the fallback off Linux.
import { readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../../../shared/cli/main.ts');
const { processIO } = await import('../../../shared/cli/io.ts');
const io = { ...processIO(), stdout: () => {} };
const code = await main(process.argv.slice(2), io);
let peak = process.resourceUsage().maxRSS;
try {
  peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? peak);
} catch {
  // not Linux
}
process.stderr.write(`\nMAXRSS_KIB ${peak}\n`);
process.exitCode = code;
