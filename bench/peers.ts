/**
 * `--peers DIR`: NATS JetStream side by side, with the scripts of ../shared/peers/ (nats-cluster.sh,
 * nats-bench.mjs): a 3-node JetStream cluster on loopback (ports 14222-14224), 100 B publishes to an
 * R3 file-storage stream, each acknowledged after quorum replication, 2,000 in flight; then read back.
 *
 * Needs `nats-server` on PATH (apt-get install nats-server) and DIR, a scratch folder outside the
 * repository where `npm install nats` was run: the bench script is copied there so that it finds the
 * `nats` package. Skein itself never depends on any of it. The NATS cluster is always stopped.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchContext } from './bench-result.js';

/** ../shared/peers beside the repository (from dist/bench/), unless SKEIN_PEERS_DIR says otherwise. */
const PEERS_SCRIPTS = process.env['SKEIN_PEERS_DIR'] ?? fileURLToPath(new URL('../../../shared/peers/', import.meta.url));
const MESSAGES = 100_000;
const RUN_MS_MAX = 300_000;

export interface PeerFigures {
  readonly publishRps: number;
  readonly consumeRps: number;
}

function runNode(script: string, cwd: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS_MAX);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(out);
      else reject(new Error(`nats-bench.mjs exited with ${code}: ${out}`));
    });
  });
}

export async function runPeers(dir: string, context: BenchContext): Promise<PeerFigures> {
  const scratch = resolve(dir);
  await promisify(execFile)('nats-server', ['--version']).catch(() => {
    throw new Error('--peers needs nats-server on PATH (apt-get install -y nats-server)');
  });
  await copyFile(join(PEERS_SCRIPTS, 'nats-bench.mjs'), join(scratch, 'nats-bench.mjs'));
  const clusterDir = join(scratch, 'nats-cluster');
  context.progress.update('peers: starting a 3-node NATS JetStream cluster', true);
  await promisify(execFile)('bash', [join(PEERS_SCRIPTS, 'nats-cluster.sh'), 'start', clusterDir]);
  try {
    context.progress.update(`peers: NATS JetStream R3, ${MESSAGES.toLocaleString('en-US')} x 100 B`, true);
    const out = await runNode(join(scratch, 'nats-bench.mjs'), scratch, { N: String(MESSAGES), R: '3', SIZE: '100' });
    const publish = /produce R3 acked: .* = (\d+) msg\/s/.exec(out);
    const consume = /consume: .* = (\d+) msg\/s/.exec(out);
    if (publish === null || consume === null) throw new Error(`unexpected nats-bench.mjs output: ${out}`);
    return { publishRps: Number(publish[1]), consumeRps: Number(consume[1]) };
  } finally {
    await promisify(execFile)('bash', [join(PEERS_SCRIPTS, 'nats-cluster.sh'), 'stop', clusterDir]).catch(() => {});
  }
}
