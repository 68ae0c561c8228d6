/**
 * This machine's latency floor for the suite's latency run: the acks=all chain of a replicated log
 * with nothing else in it, so that produce→ack figures can be read as multiples of what the machine
 * itself gives (as throughput is read against the WebSocket and disk ceilings).
 *
 * Three child processes (bench/latency-floor-node.ts, with the nodes' V8 flags) each lead 2 of 6
 * partitions and follow the other 4. This process is the producer: open loop, a batch of
 * `BATCH_BYTES` per partition every `PERIOD_MS` (6 partitions: about 460 batches and 50,000 records of
 * 100 B a second, as many produce requests as the suite's latency run makes), each to its leader over
 * one loopback WebSocket per node. A batch is acknowledged once its leader and both followers have
 * written and fdatasynced it, with the same hops as Skein's acks=all: producer → leader, the leader's
 * write and fdatasync, leader → followers, their writes and fdatasyncs, followers → leader, leader →
 * producer. Latency is acknowledgement time − due time, as in the suite, after a warm-up.
 *
 * What it leaves out makes it a floor, not a model: no protocol encoding, no record batches, no
 * consumer process, no controller, no metadata, one file per partition with no index.
 *
 * Invariant: every process and file it starts is gone when it returns or throws.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, type RawData } from 'ws';
import { nodeV8Flags } from '../src/cli/node-flags.js';
import { LatencyRecorder, type LatencySummary } from './latency-recorder.js';

const NODE_PATH = fileURLToPath(new URL('./latency-floor-node.js', import.meta.url));
const NODES = 3;
const PARTITIONS = 6;
/** About what one produce request of the suite's latency run carries (about 110 records of 100 B). */
const BATCH_BYTES = 11_000;
/** Each partition's batch interval: 6 partitions x 1000 / 13 = about 460 batches/s. */
const PERIOD_MS = 13;
const TICK_MS = 1;

function waitForMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`latency floor node exited (${code}) before ${what}`));
    child.once('exit', onExit);
    child.once('message', (message: T) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

function connect(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Produce→ack of the bare chain over `warmupMs` + `durationMs`; the summary covers the samples after the warm-up. */
export async function measureLatencyFloor(warmupMs: number, durationMs: number): Promise<LatencySummary> {
  const dir = await mkdtemp(join(tmpdir(), 'skein-bench-floor-'));
  const children: ChildProcess[] = [];
  const sockets: WebSocket[] = [];
  try {
    for (let id = 0; id < NODES; id++) children.push(fork(NODE_PATH, [dir], { execArgv: [...nodeV8Flags()], stdio: ['ignore', 2, 2, 'ipc'] }));
    const ports = await Promise.all(children.map((child) => waitForMessage<{ port: number }>(child, 'listening').then((m) => m.port)));
    const ready = children.map((child) => waitForMessage<string>(child, 'ready'));
    children.forEach((child, id) => child.send({ id, ports }));
    await Promise.all(ready);
    for (const port of ports) sockets.push(await connect(port));
    return await produce(sockets, warmupMs, durationMs);
  } finally {
    for (const socket of sockets) socket.terminate();
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

function produce(leaders: readonly WebSocket[], warmupMs: number, durationMs: number): Promise<LatencySummary> {
  const recorder = new LatencyRecorder();
  const dueBySequence = new Map<number, number>();
  const startMs = performance.now() + 50;
  const measureFromMs = startMs + warmupMs;
  const endMs = measureFromMs + durationMs;
  const onAck = (data: RawData): void => {
    const sequence = (data as Buffer).readUInt32LE(2);
    const dueMs = dueBySequence.get(sequence);
    dueBySequence.delete(sequence);
    if (dueMs !== undefined && dueMs >= measureFromMs) recorder.record(performance.now() - dueMs);
  };
  for (const leader of leaders) leader.on('message', onAck);
  const batch = Buffer.alloc(BATCH_BYTES, 7);
  return new Promise((resolve, reject) => {
    let next = 0; // batches due so far; batch k is for partition k % PARTITIONS
    const tick = (): void => {
      const nowMs = performance.now();
      for (;;) {
        const partition = next % PARTITIONS;
        const dueMs = startMs + Math.floor(next / PARTITIONS) * PERIOD_MS + (partition * PERIOD_MS) / PARTITIONS;
        if (dueMs > nowMs || dueMs > endMs) break;
        const frame = Buffer.allocUnsafe(6 + BATCH_BYTES);
        frame[0] = 1;
        frame[1] = partition;
        frame.writeUInt32LE(next, 2);
        batch.copy(frame, 6);
        dueBySequence.set(next, dueMs);
        (leaders[partition % leaders.length] as WebSocket).send(frame);
        next++;
      }
      if (nowMs < endMs) {
        setTimeout(tick, TICK_MS);
        return;
      }
      // Every batch is acknowledged within a second or two; one that is not is a failure of the floor.
      const deadlineMs = nowMs + 10_000;
      const drain = (): void => {
        if (dueBySequence.size === 0) resolve(recorder.summary());
        else if (performance.now() > deadlineMs) reject(new Error(`latency floor: ${dueBySequence.size} batches never acknowledged`));
        else setTimeout(drain, 10);
      };
      drain();
    };
    tick();
  });
}
