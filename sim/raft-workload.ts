/**
 * Clients that propose unique commands to the quorum during a simulation, following leader hints the
 * way a real client would. Each outcome is counted: committed (and reported to the checker by the
 * cluster), refused (not leader, overloaded: certainly not committed), or unknown (leadership lost,
 * node stopped). Bounded: at most `inflightMax` proposals per client at a time.
 */
import type { Random } from '../src/util/random.js';
import type { RaftError } from '../src/raft/errors.js';
import { NotLeaderError } from '../src/raft/errors.js';
import type { NodeId } from '../src/raft/types.js';
import type { RaftCluster } from './raft-cluster.js';

export interface WorkloadStats {
  proposed: number;
  committed: number;
  refused: number;
  unknown: number;
}

export class RaftWorkload {
  readonly stats: WorkloadStats = { proposed: 0, committed: 0, refused: 0, unknown: 0 };
  private running = false;
  private sequence = 0;

  constructor(
    private readonly cluster: RaftCluster,
    private readonly random: Random,
    private readonly options: { clients: number; intervalMsMax: number; inflightMax: number },
  ) {}

  start(): void {
    this.running = true;
    for (let c = 0; c < this.options.clients; c++) this.client(c, { leaderHint: 0, inflight: 0 });
  }

  stop(): void {
    this.running = false;
  }

  private client(id: number, state: { leaderHint: NodeId; inflight: number }): void {
    if (!this.running) return;
    this.cluster.scheduler.setTimer(1 + this.random.int(this.options.intervalMsMax), () => {
      if (!this.running) return;
      if (state.inflight < this.options.inflightMax) this.proposeOnce(id, state);
      this.client(id, state);
    });
  }

  private proposeOnce(client: number, state: { leaderHint: NodeId; inflight: number }): void {
    const voters = this.cluster.voterIds;
    const target = state.leaderHint !== 0 && this.random.int(10) > 0 ? state.leaderHint : (voters[this.random.int(voters.length)] as NodeId);
    if (!this.cluster.machine(target).isUp) {
      state.leaderHint = 0;
      return;
    }
    const data = new TextEncoder().encode(`c${client}-${++this.sequence}`);
    this.stats.proposed++;
    state.inflight++;
    this.cluster.propose(target, data).then(
      () => {
        state.inflight--;
        state.leaderHint = target;
        this.stats.committed++;
      },
      (error: RaftError) => {
        state.inflight--;
        if (error instanceof NotLeaderError) {
          state.leaderHint = error.leaderHint;
          this.stats.refused++;
        } else if (error.code === 'QUORUM_OVERLOADED' || error.code === 'PROPOSAL_DROPPED') {
          this.stats.refused++;
        } else {
          state.leaderHint = 0;
          this.stats.unknown++;
        }
      },
    );
  }
}
