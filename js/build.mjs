// Bundle the browser code (run by `npm run build`, hence by `make build`).
//
//   js/src/index.js    → dropbox/static/js/drop-crypto.js  (window.DropCrypto)
//   js/src/app/main.js → dropbox/static/js/drop-app.js     (only if it exists)
//
// IIFE, minified, ES2020. The pages run under `script-src 'self'` with no
// 'unsafe-eval' and no 'wasm-unsafe-eval', so the output must not use eval,
// new Function or WebAssembly; js/test/bundle.test.mjs checks the result,
// and that the file on disk is what these options build from the sources.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUTDIR = join(root, 'dropbox', 'static', 'js');

export const BUNDLES = [
  { entry: join(root, 'js', 'src', 'index.js'), outfile: join(OUTDIR, 'drop-crypto.js'), globalName: 'DropCrypto' },
  { entry: join(root, 'js', 'src', 'app', 'main.js'), outfile: join(OUTDIR, 'drop-app.js'), optional: true },
];

/** esbuild options for one bundle of BUNDLES. */
export function buildOptions({ entry, outfile, globalName }) {
  return {
    entryPoints: [entry],
    outfile,
    ...(globalName ? { globalName } : {}),
    bundle: true,
    format: 'iife',
    minify: true,
    target: 'es2020',
    platform: 'browser',
    legalComments: 'none',
    // The codename word list is read from keys/data/ and inlined as a string.
    loader: { '.txt': 'text' },
    logLevel: 'warning',
  };
}

async function main() {
  mkdirSync(OUTDIR, { recursive: true });
  for (const bundle of BUNDLES) {
    if (bundle.optional && !existsSync(bundle.entry)) continue;
    await esbuild.build(buildOptions(bundle));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
