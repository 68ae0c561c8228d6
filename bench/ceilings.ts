/**
 * This machine's ceilings, measured in the same run as the cluster figures so that results from noisy
 * or different machines can be compared as fractions:
 * - loopback WebSocket throughput between two processes (the method of ../shared/peers/ws-ceiling.mjs):
 *   this process pushes binary frames over one `ws` connection (bufferutil when installed, as the
 *   nodes use) to a child process (bench/ws-echo.ts) that acks each with 4 bytes, `WINDOW` frames in
 *   flight; 64 KiB frames give MB/s, 1 KiB frames give frames/s;
 * - sequential disk write with fsync: 16 KiB writes then one fdatasync (bench/log.ts), in a temporary
 *   directory on the same file system as the cluster's data; and 16 KiB write + fdatasync each (the
 *   fsync rate, which bounds flush=always without group commit);
 * - the latency floor: produce→ack of a bare acks=all chain of three processes (bench/latency-floor.ts),
 *   at the request rate of the suite's latency run; 3 rounds (1 with --quick), the median of each
 *   percentile (a single stall of 100 ms moves the p99 of one 10 s round).
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { measureLatencyFloor } from './latency-floor.js';
import { median, type LatencySummary } from './latency-recorder.js';
import { makeBatch, mbPerS, rawPhase, sequentialCeiling } from './log.js';

const ECHO_PATH = fileURLToPath(new URL('./ws-echo.js', import.meta.url));
const WINDOW = 64;
const MB = 1e6;

export interface Ceilings {
  readonly wsMbPerS: number;
  readonly wsFramesPerS1k: number;
  readonly diskSequentialMbPerS: number;
  readonly diskFsyncsPerS: number;
  readonly latencyFloor: Pick<LatencySummary, 'p50Ms' | 'p99Ms' | 'p999Ms'>;
}

/** Frames of `frameBytes` for about `durationMs`, WINDOW in flight; returns frames and seconds. */
function pushFrames(url: string, frameBytes: number, durationMs: number): Promise<{ frames: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const frame = Buffer.alloc(frameBytes, 1);
    ws.once('error', reject);
    ws.once('open', () => {
      const startMs = performance.now();
      let acked = 0;
      let sent = 0;
      let stopping = false;
      ws.on('message', () => {
        acked++;
        if (!stopping && performance.now() - startMs >= durationMs) stopping = true;
        if (!stopping) {
          ws.send(frame);
          sent++;
        } else if (acked === sent) {
          const seconds = (performance.now() - startMs) / 1000;
          ws.close();
          resolve({ frames: acked, seconds });
        }
      });
      for (; sent < WINDOW; sent++) ws.send(frame);
    });
  });
}

export async function measureWsCeiling(durationMs: number): Promise<{ mbPerS: number; framesPerS1k: number }> {
  const child = fork(ECHO_PATH, [], { stdio: ['ignore', 2, 2, 'ipc'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`ws echo process exited (${code})`)));
    });
    const url = `ws://127.0.0.1:${port}`;
    await pushFrames(url, 64 * 1024, Math.min(500, durationMs)); // warm-up
    const big = await pushFrames(url, 64 * 1024, durationMs);
    const small = await pushFrames(url, 1024, durationMs);
    return { mbPerS: (big.frames * 64 * 1024) / MB / big.seconds, framesPerS1k: small.frames / small.seconds };
  } finally {
    child.kill('SIGKILL');
  }
}

export async function measureDiskCeiling(sequentialBytes: number, fsyncPhaseMs: number): Promise<{ sequentialMbPerS: number; fsyncsPerS: number }> {
  const root = await mkdtemp(join(tmpdir(), 'skein-bench-disk-'));
  try {
    const batch = makeBatch();
    const sequential = await sequentialCeiling(join(root, 'seq'), batch, sequentialBytes);
    await rm(join(root, 'seq'));
    const each = await rawPhase(join(root, 'each'), batch, 1, fsyncPhaseMs, 1024 * 1024 * 1024);
    return { sequentialMbPerS: mbPerS(sequential), fsyncsPerS: each.syncs / each.seconds };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export async function measureCeilings(options: { readonly quick: boolean }): Promise<Ceilings> {
  const ws = await measureWsCeiling(options.quick ? 1500 : 3000);
  const disk = await measureDiskCeiling((options.quick ? 256 : 512) * 1024 * 1024, options.quick ? 1000 : 2000);
  const floors: LatencySummary[] = [];
  for (let round = 0; round < (options.quick ? 1 : 3); round++) floors.push(await measureLatencyFloor(options.quick ? 1000 : 2000, options.quick ? 5000 : 10_000));
  const latencyFloor = { p50Ms: median(floors.map((f) => f.p50Ms)), p99Ms: median(floors.map((f) => f.p99Ms)), p999Ms: median(floors.map((f) => f.p999Ms)) };
  return { wsMbPerS: ws.mbPerS, wsFramesPerS1k: ws.framesPerS1k, diskSequentialMbPerS: disk.sequentialMbPerS, diskFsyncsPerS: disk.fsyncsPerS, latencyFloor };
}
