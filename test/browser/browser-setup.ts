/**
 * What the browser test needs around it: Chromium (scripts/setup-browser-test.js, which installs
 * Debian's package when it is missing, or says why it cannot), bundles (scripts/bundle-browser.js, the
 * same script as `npm run bundle`), and a static HTTP server on 127.0.0.1 for the page and bundles.
 * The scripts run as child processes: their answers are what a developer sees running them by hand.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository (this file runs as dist/test/browser/browser-setup.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type ChromiumSetup = { readonly chromium: string; readonly installed: boolean; readonly ms: number } | { readonly skip: string };

/** The setup script's exit code for "Chromium cannot be installed here". */
const EXIT_UNAVAILABLE = 3;
/** apt-get update + install of chromium and its libraries; generous for a slow mirror. */
const SETUP_TIMEOUT_MS = 9 * 60_000;

function run(args: readonly string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(new Error(`${args.join(' ')}: ${error.message}\n${stderr}`));
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** Finds or installs Chromium; `skip` says why it is unavailable. Throws if the script itself failed. */
export async function setUpChromium(): Promise<ChromiumSetup> {
  const { code, stdout, stderr } = await run(['scripts/setup-browser-test.js'], SETUP_TIMEOUT_MS);
  const last = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 && code !== EXIT_UNAVAILABLE) throw new Error(`scripts/setup-browser-test.js exited with ${code}:\n${stdout}${stderr.slice(-4000)}`);
  const answer = JSON.parse(last) as ChromiumSetup;
  if ('skip' in answer) {
    const tail = stderr.trim().split('\n').slice(-5).join('\n');
    return { skip: tail === '' ? answer.skip : `${answer.skip}\n${tail}` };
  }
  return answer;
}

/** Bundles `entry` (relative to the repository) into `outfile` for browsers; the script's summary line. */
export async function bundle(entry: string, outfile: string): Promise<string> {
  const { code, stdout, stderr } = await run(['scripts/bundle-browser.js', entry, '--out', outfile], 120_000);
  if (code !== 0) throw new Error(`bundling ${entry} failed (exit ${code}):\n${stdout}${stderr}`);
  return stdout.trim();
}

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json' };

/** Serves `files` (URL path → file on disk) and `/` (an empty page) on 127.0.0.1; everything else is 404. */
export async function serveFiles(files: ReadonlyMap<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': CONTENT_TYPES['.html'] });
      res.end('<!doctype html><meta charset="utf-8"><title>Skein in the browser</title><p>Skein browser test</p>');
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = files.get(path);
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream' });
        res.end(body);
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
