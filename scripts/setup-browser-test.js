#!/usr/bin/env node
// Makes Chromium available for the browser test (test/browser/browser.test.ts), the way the issue
// asks: Debian's `chromium` package, never a browser downloaded by a test tool (playwright-core is
// only the driver; it comes from npm as a devDependency and is told where Chromium is).
//
// - `chromium` already on PATH (or at /usr/bin/chromium): nothing to do — this is the fast path every
//   run after the first takes.
// - Otherwise, as root with apt-get: `apt-get update`, then `apt-get install -y --no-install-recommends
//   chromium` (headless needs none of the recommended desktop extras; ~20 s here).
// - Otherwise, or when apt fails: Chromium cannot be installed here, and the test is skipped saying why.
//
// Output, for the test to read: the last line of stdout is one JSON object, either
// `{"chromium":"/usr/bin/chromium","installed":true|false,"ms":N}` (exit 0) or
// `{"skip":"why Chromium is unavailable"}` (exit 3). apt's own output goes to stderr.
// Usable by hand too: `node scripts/setup-browser-test.js`.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, writeSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const EXIT_UNAVAILABLE = 3;

/** The first executable named `name` on PATH, then the Debian location; undefined if none. */
function findChromium() {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const path of [...dirs.map((d) => join(d, 'chromium')), '/usr/bin/chromium']) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a command with its output on our stderr (stdout is reserved for the JSON answer). */
function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', process.stderr, process.stderr], env: { ...process.env, ...env } });
  if (result.error !== undefined) return `${command} could not run: ${result.error.message}`;
  if (result.status !== 0) return `\`${command} ${args.join(' ')}\` exited with ${result.status ?? result.signal}`;
  return undefined;
}

function answer(value, code) {
  writeSync(1, `${JSON.stringify(value)}\n`); // synchronous: process.exit follows
  process.exit(code);
}

const started = Date.now();
const present = findChromium();
if (present !== undefined) answer({ chromium: present, installed: false, ms: Date.now() - started }, 0);

if (process.platform !== 'linux') answer({ skip: `Chromium is not on PATH and this is ${process.platform}, not Debian: install chromium to run the browser test` }, EXIT_UNAVAILABLE);
if (typeof process.getuid === 'function' && process.getuid() !== 0) answer({ skip: 'Chromium is not on PATH and installing Debian\'s chromium package needs root (run `apt-get install chromium`)' }, EXIT_UNAVAILABLE);
const noApt = run('apt-get', ['--version']);
if (noApt !== undefined) answer({ skip: `Chromium is not on PATH and apt-get is unavailable (${noApt})` }, EXIT_UNAVAILABLE);

process.stderr.write('setup-browser-test: installing Debian\'s chromium package (apt-get update && apt-get install -y chromium)\n');
// Wait for another apt run's lock instead of failing at once; never prompt.
const aptEnv = { DEBIAN_FRONTEND: 'noninteractive' };
const lock = ['-o', 'DPkg::Lock::Timeout=300'];
const failure = run('apt-get', [...lock, 'update'], aptEnv) ?? run('apt-get', [...lock, 'install', '-y', '--no-install-recommends', 'chromium'], aptEnv);
if (failure !== undefined) answer({ skip: `Chromium could not be installed: ${failure}` }, EXIT_UNAVAILABLE);
const installed = findChromium();
if (installed === undefined) answer({ skip: 'apt-get installed chromium but no chromium executable was found' }, EXIT_UNAVAILABLE);
answer({ chromium: installed, installed: true, ms: Date.now() - started }, 0);
