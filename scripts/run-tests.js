#!/usr/bin/env node
// Runs the whole mocha suite over the compiled tests (dist/test/**/*.test.js) and ends with the plain
// line `N passed, N failed` that any tool can read. Arguments narrow the run: `npm test -- raft`
// runs only test files whose path contains "raft". Exit code: 0 only when nothing failed.
import Mocha from 'mocha';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = 'dist/test';
const filters = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = findTests(root).filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)));
if (files.length === 0) {
  console.error(`no test files under ${root} match ${filters.join(' ')}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const mocha = new Mocha({ reporter: 'spec', timeout: 60_000, slow: 5_000 });
for (const f of files) mocha.addFile(f);
await mocha.loadFilesAsync();

let passed = 0;
let failed = 0;
const runner = mocha.run(() => {
  const pending = runner.stats?.pending ?? 0;
  console.log(`\n${passed} passed, ${failed} failed${pending > 0 ? `, ${pending} skipped` : ''}`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
  // A failed test may leave servers or nodes running that keep the process alive; the verdict is in,
  // so do not let CI wait for them. (A passing suite still has to exit on its own.)
  if (process.exitCode !== 0) setTimeout(() => process.exit(), 2000).unref();
});
runner.on('pass', () => passed++);
runner.on('fail', () => failed++);
