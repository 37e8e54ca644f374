// Builds the page into dist/: src/main.ts bundled (with its npm dependencies) into app.js, and
// index.html and style.css copied beside it. dist/ is build output: never edit it by hand.
//
//   node build.mjs          minified, as served
//   node build.mjs --dev    readable, with an inline source map

import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
const dev = process.argv.includes('--dev');

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

await esbuild.build({
  entryPoints: [join(src, 'main.ts')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Browsers that carry Wallet Standard wallets (Phantom's extension supports these and later).
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'eof',
  logLevel: 'info',
});

for (const file of ['index.html', 'style.css']) {
  await copyFile(join(src, file), join(dist, file));
}
console.log(`built ${dist}: app.js, index.html, style.css`);
