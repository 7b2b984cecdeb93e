import { build } from 'vite';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
for (const f of ['plain', 'tb', 'zc', 'zm']) {
  await build({ configFile: false, logLevel: 'silent', root: '/tmp/cmeasure', build: { outDir: `/tmp/cmeasure/out-${f}`, minify: true, target: 'es2022', lib: { entry: `/tmp/cmeasure/e-${f}.ts`, formats: ['es'], fileName: () => 'x.js' } } });
  const s = readFileSync(`/tmp/cmeasure/out-${f}/x.js`);
  console.log(f, s.length, gzipSync(s).length);
}
