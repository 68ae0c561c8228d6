/**
 * Runs a fault schedule (schedule.ts) against a ChaosCluster: each lane of the schedule in order,
 * each fault at its planned time (or as soon as the lane's previous fault has ended), resolved to a
 * node, applied, recorded in the history, and reverted after its duration.
 *
 * - kill: kill -9 of the node, restarted (`skein node --config`, as an operator would) after the
 *   duration; the fault ends once the node listens again.
 * - pause: SIGSTOP, SIGCONT after the duration (longer than the broker session timeout).
 * - partition: the node isolated from the others (a 1/2 split), both directions of each of its links,
 *   blackholed (packets dropped) or cut (connections reset).
 * - one-way: only the node's outgoing links (`out`) or only its incoming ones (`in`) blackholed. A link
 *   is a connection its source dials, and it carries both that connection's requests and their
 *   answers: with `out`, the node cannot send its own requests or Raft messages to the others (nor
 *   hear their answers), while the others still reach it and get its answers — it can still serve
 *   their fetches. Asymmetric by who dials, not a loss of packets in one direction only.
 * - slow: the node's links (or every link) delay each chunk.
 *
 * Selectors are resolved with an admin client (the controller leader from DescribeQuorum, a partition
 * leader from metadata), bounded by a short timeout; a node picked by `random` otherwise.
 */
import type { Admin } from '../src/client/admin.js';
import type { SeededRandom } from '../src/util/random.js';
import type { ChaosCluster } from './cluster.js';
import type { History } from './history.js';
import type { LinkMode } from './link-proxy.js';
import { describeFault, type PlannedFault } from './schedule.js';

const RESOLVE_TIMEOUT_MS = 1500;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FaultRunner {
  private stopped = false;
  private lanes: Promise<void>[] = [];
  private startMs = 0;
  readonly active = new Set<string>();

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly history: History,
    private readonly admin: Admin,
    private readonly topic: string,
    private readonly random: SeededRandom,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts the schedule now (its times are from now). */
  start(schedule: readonly PlannedFault[]): void {
    this.startMs = Date.now();
    const process = schedule.filter((f) => f.kind === 'kill' || f.kind === 'pause');
    const network = schedule.filter((f) => f.kind !== 'kill' && f.kind !== 'pause');
    this.lanes = [this.runLane(process), this.runLane(network)];
  }

  /** No new fault starts; resolves once the faults in force have ended (reverted). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.lanes);
  }

  private async runLane(faults: readonly PlannedFault[]): Promise<void> {
    for (const f of faults) {
      // Wait for the planned time in small steps, so stop() is prompt.
      while (!this.stopped && Date.now() - this.startMs < f.atMs) await sleep(Math.min(200, f.atMs - (Date.now() - this.startMs)));
      if (this.stopped) return;
      try {
        await this.run(f);
      } catch (e) {
        this.history.record({ f: 'anomaly', message: `chaos: fault ${describeFault(f)} failed: ${e instanceof Error ? e.message : String(e)}` });
      }
    }
  }

  private async resolve(f: PlannedFault): Promise<number> {
    const ids = this.cluster.nodeIds;
    const fallback = ids[this.random.int(ids.length)] as number;
    const t = f.target;
    let node: number | undefined;
    if (t.kind === 'node') node = t.node;
    else if (t.kind === 'controller-leader') {
      const q = await withTimeout(this.admin.describeQuorum(), RESOLVE_TIMEOUT_MS);
      node = q?.leaderId;
    } else if (t.kind === 'partition-leader') {
      const m = await withTimeout(this.admin.fetchTopicMetadata({ topics: [this.topic] }), RESOLVE_TIMEOUT_MS);
      node = m?.topics[0]?.partitions.find((p) => p.partitionId === t.partition)?.leader;
    }
    if (node === undefined || !ids.includes(node)) node = fallback;
    // A process fault needs a running process: a node still starting (or that died) is skipped for one that runs.
    if ((f.kind === 'kill' || f.kind === 'pause') && this.cluster.state(node) !== 'up') {
      node = ids.find((id) => this.cluster.state(id) === 'up') ?? node;
    }
    return node;
  }

  private linksOf(node: number, direction: 'in' | 'out' | 'both'): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const other of this.cluster.nodeIds) {
      if (other === node) continue;
      if (direction !== 'in') out.push([node, other]);
      if (direction !== 'out') out.push([other, node]);
    }
    return out;
  }

  private async run(f: PlannedFault): Promise<void> {
    const node = f.target.kind === 'all' ? 0 : await this.resolve(f);
    const target = f.target.kind === 'all' ? 'every link' : `node ${node}${f.target.kind === 'controller-leader' ? ' (controller leader)' : f.target.kind === 'partition-leader' ? ` (leader of partition ${f.target.partition})` : ''}`;
    const desc = `${describeFault(f)} -> ${target}`;
    const nodes = node === 0 ? this.cluster.nodeIds : [node];
    const key = `${f.kind}:${nodes.join(',')}`;
    this.active.add(key);
    this.history.record({ f: 'fault', type: 'start', kind: f.kind, desc, nodes });
    this.log(`fault: ${desc}`);
    try {
      switch (f.kind) {
        case 'kill':
          await this.cluster.kill9(node);
          await sleep(f.durationMs);
          await this.cluster.restart(node);
          break;
        case 'pause':
          this.cluster.pause(node);
          await sleep(f.durationMs);
          this.cluster.resume(node);
          break;
        case 'partition':
        case 'one-way':
        case 'slow': {
          const links = node === 0 ? this.allLinks() : this.linksOf(node, f.kind === 'one-way' ? (f.direction ?? 'out') : 'both');
          const mode: LinkMode =
            f.kind === 'slow'
              ? { kind: 'slow', delayMs: f.delayMs ?? 100, jitterMs: f.jitterMs ?? 0 }
              : f.kind === 'partition' && f.partitionStyle === 'cut'
                ? { kind: 'cut' }
                : { kind: 'blackhole' };
          this.cluster.setLinks(links, mode);
          await sleep(f.durationMs);
          this.cluster.setLinks(links, { kind: 'pass' });
          break;
        }
      }
    } finally {
      this.active.delete(key);
      this.history.record({ f: 'fault', type: 'end', kind: f.kind, desc, nodes });
    }
  }

  private allLinks(): Array<[number, number]> {
    const ids = this.cluster.nodeIds;
    return ids.flatMap((a) => ids.filter((b) => b !== a).map((b): [number, number] => [a, b]));
  }
}
