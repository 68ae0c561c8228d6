/**
 * A fake cluster with a scripted group coordinator, for the group consumer's unit tests: the
 * partitions are consumer-fake-cluster.ts's in-memory logs; the coordinator answers find-coordinator,
 * consumer-group-heartbeat, offset-commit and offset-fetch the way the contract says, but the
 * assignment is whatever the test sets (`assign`), and errors can be queued for the next answers.
 *
 * Every group request and answer is appended to `events`, in order, so a test can check what the
 * member did before what (e.g. a commit before the heartbeat that releases the partition).
 */
import type { ConsumerCluster } from '../../src/client/consumer.js';
import type { GroupErrorCode } from '../../src/groups/errors.js';
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  TopicPartitions,
} from '../../src/groups/rpc.js';
import { FakeCluster } from './consumer-fake-cluster.js';

export type GroupEvent =
  | { readonly type: 'find-coordinator' }
  | { readonly type: 'heartbeat'; readonly request: ConsumerGroupHeartbeatRequest; readonly response: ConsumerGroupHeartbeatResponse }
  | { readonly type: 'commit'; readonly request: OffsetCommitRequest; readonly response: OffsetCommitResponse }
  | { readonly type: 'fetch-offsets'; readonly request: OffsetFetchRequest; readonly response: OffsetFetchResponse };

interface FakeMember {
  epoch: number;
  /** The assignment the coordinator wants it to have; undefined = not decided (everything, for a lone member). */
  target: TopicPartitions[] | undefined;
  /** Whether `target` was sent since it last changed. */
  targetSent: boolean;
}

export class FakeGroupCluster extends FakeCluster {
  readonly clientId = 'fake-client';
  readonly events: GroupEvent[] = [];
  readonly committed = new Map<string, { offset: number; leaderEpoch: number }>();
  readonly members = new Map<string, FakeMember>();
  heartbeatIntervalMs = 30;
  /** Error codes for the next heartbeats / commits / find-coordinators, first first. */
  heartbeatErrors: GroupErrorCode[] = [];
  commitErrors: GroupErrorCode[] = [];
  findErrors: GroupErrorCode[] = [];
  /** Called on every commit before it is answered (a test asserts what is committed when). */
  onCommit: ((request: OffsetCommitRequest) => void) | undefined;
  private groupEpoch = 0;

  override asCluster(): ConsumerCluster {
    return this as unknown as ConsumerCluster;
  }

  /** Every partition of the topic, as one assignment. */
  all(): TopicPartitions[] {
    return [{ topic: this.topicName, partitions: this.partitions.map((_, i) => i) }];
  }

  /** The only member (a test with one consumer). */
  member(): [string, FakeMember] {
    const [entry] = [...this.members];
    if (entry === undefined) throw new Error('fake: no member');
    return entry;
  }

  /** Gives `memberId` a new target assignment (a new epoch): sent with its next heartbeat. */
  assign(memberId: string, partitions: readonly number[]): void {
    const m = this.members.get(memberId);
    if (m === undefined) throw new Error(`fake: no member ${memberId}`);
    m.epoch = ++this.groupEpoch;
    m.target = [{ topic: this.topicName, partitions: [...partitions] }];
    m.targetSent = false;
  }

  heartbeats(): Array<Extract<GroupEvent, { type: 'heartbeat' }>> {
    return this.events.filter((e): e is Extract<GroupEvent, { type: 'heartbeat' }> => e.type === 'heartbeat');
  }

  commits(): Array<Extract<GroupEvent, { type: 'commit' }>> {
    return this.events.filter((e): e is Extract<GroupEvent, { type: 'commit' }> => e.type === 'commit');
  }

  async requestAny(kind: string, body: unknown): Promise<unknown> {
    return this.request(0, kind, body);
  }

  override async request(broker: number, kind: string, body: unknown): Promise<unknown> {
    switch (kind) {
      case 'find-coordinator': {
        await tick();
        this.events.push({ type: 'find-coordinator' });
        const error = this.findErrors.shift();
        return error === undefined ? { nodeId: 1, url: 'ws://fake-coordinator' } : { error, message: `fake ${error}` };
      }
      case 'consumer-group-heartbeat': {
        await tick();
        const request = body as ConsumerGroupHeartbeatRequest;
        const response = this.heartbeat(request);
        this.events.push({ type: 'heartbeat', request, response });
        return response;
      }
      case 'offset-commit': {
        await tick();
        const request = body as OffsetCommitRequest;
        this.onCommit?.(request);
        const response = this.commit(request);
        this.events.push({ type: 'commit', request, response });
        return response;
      }
      case 'offset-fetch': {
        await tick();
        const request = body as OffsetFetchRequest;
        const offsets = (request.topics ?? []).flatMap((t) =>
          (t.partitions ?? []).map((partition) => {
            const c = this.committed.get(`${t.topic}/${partition}`);
            return { topic: t.topic, partition, offset: c?.offset ?? -1, leaderEpoch: c?.leaderEpoch ?? -1, metadata: '' };
          }),
        );
        const response = { offsets };
        this.events.push({ type: 'fetch-offsets', request, response });
        return response;
      }
      default:
        return super.request(broker, kind, body);
    }
  }

  private heartbeat(request: ConsumerGroupHeartbeatRequest): ConsumerGroupHeartbeatResponse {
    const error = this.heartbeatErrors.shift();
    if (error !== undefined) {
      // A fenced member is forgotten, as the coordinator would.
      if (error === 'UNKNOWN_MEMBER_ID' || error === 'FENCED_MEMBER_EPOCH') this.members.delete(request.memberId);
      return { error, message: `fake ${error}` };
    }
    if (request.memberEpoch < 0) {
      this.members.delete(request.memberId);
      return { memberId: request.memberId, memberEpoch: request.memberEpoch, heartbeatIntervalMs: 0 };
    }
    let m = this.members.get(request.memberId);
    if (request.memberEpoch === 0) {
      m = { epoch: ++this.groupEpoch, target: this.all(), targetSent: false };
      this.members.set(request.memberId, m);
    } else if (m === undefined) {
      return { error: 'UNKNOWN_MEMBER_ID', message: 'fake: unknown member' };
    } else if (request.memberEpoch > m.epoch) {
      return { error: 'FENCED_MEMBER_EPOCH', message: 'fake: epoch from the future' };
    }
    const send = !m.targetSent && m.target !== undefined;
    m.targetSent = true;
    return { memberId: request.memberId, memberEpoch: m.epoch, heartbeatIntervalMs: this.heartbeatIntervalMs, ...(send && m.target !== undefined && { assignment: m.target }) };
  }

  private commit(request: OffsetCommitRequest): OffsetCommitResponse {
    const error = this.commitErrors.shift();
    if (error !== undefined) return { error, message: `fake ${error}` };
    const m = this.members.get(request.memberId);
    if (m === undefined) return { error: 'UNKNOWN_MEMBER_ID', message: 'fake: unknown member' };
    if (request.memberEpoch !== m.epoch) return { error: request.memberEpoch < m.epoch ? 'STALE_MEMBER_EPOCH' : 'FENCED_MEMBER_EPOCH', message: 'fake: epoch mismatch' };
    for (const o of request.offsets) this.committed.set(`${o.topic}/${o.partition}`, { offset: o.offset, leaderEpoch: o.leaderEpoch });
    return { results: request.offsets.map((o) => ({ topic: o.topic, partition: o.partition })) };
  }
}

function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
