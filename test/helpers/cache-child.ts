// A second process for the cache tests (run with `node --import tsx`): it pins keys or holds the cache
// lock, says "ready" on stdout, and keeps them until its stdin closes (or it is killed by pid).
//   cache-child.ts pin  <root> <keyFile> <key>...
//   cache-child.ts lock <root> <keyFile>
import { openCache } from '../../shared/store/cache.js';

const [cmd, root, keyFile, ...keys] = process.argv.slice(2);
const cache = openCache(root!, { keyFile: keyFile! });
const stdinClosed = new Promise<void>((resolve) => {
  process.stdin.on('end', resolve);
  process.stdin.on('close', resolve);
  process.stdin.resume();
});
if (cmd === 'pin') {
  const lease = await cache.pin(keys);
  process.stdout.write('ready\n');
  await stdinClosed;
  await lease.release();
} else if (cmd === 'lock') {
  await cache.withLock(async () => {
    process.stdout.write('ready\n');
    await stdinClosed;
  });
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exitCode = 2;
}
