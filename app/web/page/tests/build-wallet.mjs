// Bundles tests/test-wallet.js (with tweetnacl) into dist-test/test-wallet.js, a classic script
// for Playwright's addInitScript. tests/e2e.mjs calls this itself; run it alone to inspect.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const TEST_WALLET_BUNDLE = join(root, 'dist-test', 'test-wallet.js');

export async function buildTestWallet() {
  await esbuild.build({
    entryPoints: [join(root, 'tests', 'test-wallet.js')],
    outfile: TEST_WALLET_BUNDLE,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    // tweetnacl falls back to Node's crypto only where the browser's is missing.
    external: ['crypto'],
    logLevel: 'warning',
  });
  return TEST_WALLET_BUNDLE;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildTestWallet()}`);
}
