/**
 * One Raft node of the benchmark, in its own worker thread (like a separate process: its own event
 * loop and core): a production `RaftNode` on `LevelRaftStorage` (every save a synced LevelDB batch),
 * the system clock and randomness. It answers the main thread's commands (raft-protocol.ts) and, when
 * asked, runs the load itself — the proposing clients live on the leader's thread, so the figure is
 * Raft's commit rate, not a client protocol's.
 *
 * Bounded: at most `inflight` proposals outstanding, at most OPS_PER_CLIENT_MAX per client, latency
 * samples capped at LATENCY_SAMPLES_MAX; the load stops at its deadline.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { LevelRaftStorage } from '../src/node/level-raft-storage.js';
import { RaftNode, type StateMachine } from '../src/raft/raft-node.js';
import type { Entry, Message, NodeId, Snapshot } from '../src/raft/types.js';
import { assert } from '../src/util/assert.js';
import { systemClock, systemRandom } from '../src/node/system-ports.js';
import { debugLoggers } from '../src/util/log.js';
import type { FromWorker, LoadCommand, LoadResult, ToWorker, WorkerInit } from './raft-protocol.js';

const OPS_PER_CLIENT_MAX = 10_000_000;
const LATENCY_SAMPLES_MAX = 2_000_000;
const PROGRESS_INTERVAL_MS = 250;

/** Counts and sums what it applies; its snapshot is those two numbers. Cheap, as a benchmark's must be. */
class CountingStateMachine implements StateMachine {
  private applied = 0;
  private bytes = 0;

  apply(entry: Entry): void {
    this.applied++;
    this.bytes += entry.data.length;
  }

  snapshot(): Uint8Array {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    view.setFloat64(0, this.applied);
    view.setFloat64(8, this.bytes);
    return out;
  }

  restore(snapshot: Snapshot): void {
    if (snapshot.data.length < 16) return;
    const view = new DataView(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength);
    this.applied = view.getFloat64(0);
    this.bytes = view.getFloat64(8);
  }
}

function post(message: FromWorker): void {
  parentPort?.postMessage(message);
}

async function main(): Promise<void> {
  const port = parentPort;
  assert(port !== null, 'raft-worker runs in a worker thread');
  const init = workerData as WorkerInit;
  const peers = new Map<NodeId, MessagePort>(init.ports.map((p) => [p.peer, p.port]));
  const send =
    init.mode === 'mesh'
      ? (m: Message): void => {
          peers.get(m.to)?.postMessage(m);
        }
      : (m: Message): void => post({ kind: 'raft', message: m });

  const storage = await LevelRaftStorage.open(init.dir);
  const node = await RaftNode.start({
    id: init.id,
    voters: init.voters,
    random: systemRandom,
    clock: systemClock,
    storage,
    send,
    stateMachine: new CountingStateMachine(),
    loggers: debugLoggers,
    tickMs: init.tickMs,
    onFatal: (error) => post({ kind: 'fatal', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  });
  for (const p of peers.values()) p.on('message', (m: Message) => node.receive(m));

  port.on('message', (command: ToWorker) => {
    switch (command.kind) {
      case 'raft':
        node.receive(command.message);
        break;
      case 'status':
        post({ kind: 'status', status: node.status() });
        break;
      case 'load':
        void runLoad(node, command).then(
          (result) => post({ kind: 'load-done', result }),
          (error: unknown) => post({ kind: 'fatal', error: String(error) }),
        );
        break;
      case 'stop':
        void node.stop().then(() => {
          for (const p of peers.values()) p.close();
          post({ kind: 'stopped' });
          port.close();
        });
        break;
    }
  });
}

/** `command.inflight` clients, each proposing and awaiting its commit in a loop until the deadline. */
async function runLoad(node: RaftNode, command: LoadCommand): Promise<LoadResult> {
  const startMs = performance.now();
  const deadlineMs = startMs + command.durationMs;
  const latenciesMs = new Float64Array(LATENCY_SAMPLES_MAX);
  let samples = 0;
  let committed = 0;
  let stopped = false;
  const errors: Record<string, number> = {};
  const progress = setInterval(() => post({ kind: 'progress', committed, elapsedMs: performance.now() - startMs }), PROGRESS_INTERVAL_MS);

  const client = async (clientId: number): Promise<void> => {
    for (let n = 0; n < OPS_PER_CLIENT_MAX && !stopped && performance.now() < deadlineMs; n++) {
      // A fresh buffer per proposal: entry data is never mutated once proposed (types.ts).
      const payload = new Uint8Array(command.payloadBytes).fill((clientId + n) & 0xff);
      const t0 = performance.now();
      try {
        await node.propose(payload);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const key = typeof code === 'string' ? code : 'OTHER';
        errors[key] = (errors[key] ?? 0) + 1;
        // Overload is back-pressure: retry. Anything else (leadership moved, node stopped) ends the run.
        if (key !== 'QUORUM_OVERLOADED') stopped = true;
        continue;
      }
      committed++;
      if (samples < LATENCY_SAMPLES_MAX) latenciesMs[samples++] = performance.now() - t0;
    }
  };
  try {
    await Promise.all(Array.from({ length: command.inflight }, (_, i) => client(i)));
  } finally {
    clearInterval(progress);
  }
  const elapsedMs = performance.now() - startMs;
  const sorted = latenciesMs.subarray(0, samples).sort();
  const percentile = (p: number): number => (samples === 0 ? 0 : (sorted[Math.min(samples - 1, Math.floor(p * samples))] as number));
  return { committed, elapsedMs, errors, latencyMsP50: percentile(0.5), latencyMsP99: percentile(0.99) };
}

await main();
