#!/usr/bin/env node
// Bundles the client library for browsers: one ES module with everything it imports, for the
// browser's own WebSocket (`npm run bundle` → dist/browser/skein.js, plus its source map).
//
//   node scripts/bundle-browser.js [ENTRY] [--out FILE] [--no-minify]
//
// ENTRY defaults to the client library, src/client/index.ts (bundled from the TypeScript sources;
// esbuild resolves the `.js` import specifiers to the `.ts` files). Bundling for the browser
// platform is also the check that the client path needs no Node built-in: importing `node:*` fails
// the build, and `ws` resolves to its browser stub (client-connection.ts never calls it there).
// Prints `bundled ENTRY -> FILE (N bytes, N gzipped)` and exits non-zero on any error.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

export const DEFAULT_ENTRY = 'src/client/index.ts';
export const DEFAULT_OUT = 'dist/browser/skein.js';

/** Bundles `entry` into `outfile`; resolves to the bundle's size in bytes (raw and gzipped). */
export async function bundleBrowser({ entry = DEFAULT_ENTRY, outfile = DEFAULT_OUT, minify = true } = {}) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const bytes = readFileSync(outfile);
  return { bytes: bytes.length, gzipBytes: gzipSync(bytes).length };
}

async function main(argv) {
  let entry = DEFAULT_ENTRY;
  let outfile = DEFAULT_OUT;
  let minify = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') outfile = argv[++i] ?? '';
    else if (arg === '--no-minify') minify = false;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else entry = arg;
  }
  if (outfile === '') throw new Error('--out needs a file');
  const { bytes, gzipBytes } = await bundleBrowser({ entry, outfile, minify });
  console.log(`bundled ${relative('.', entry)} -> ${relative('.', outfile)} (${bytes} bytes, ${gzipBytes} gzipped)`);
}

if (process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`bundle-browser: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
