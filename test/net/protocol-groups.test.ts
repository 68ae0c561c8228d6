/**
 * The consumer-group request kinds survive the codec exactly: every request and answer shape,
 * including absent optional fields (presence flags on the wire), empty lists, per-item errors and
 * whole-request errors. A group error code or group state no version knows is refused as
 * MALFORMED_FRAME; an int32 field out of range is a programmer error on encode.
 */
import { expect } from 'chai';
import { NetError } from '../../src/net/errors.js';
import { decodeFrame, encodeFrame, type Frame, type FrameBody } from '../../src/net/protocol.js';
import { AssertionError } from '../../src/util/assert.js';

function roundTrip(body: FrameBody): void {
  const frame: Frame = { correlationId: 41, body };
  expect(decodeFrame(encodeFrame(frame))).to.deep.equal(frame);
}

function swapText(bytes: Uint8Array, from: string, to: string): Uint8Array {
  expect(to.length).to.equal(from.length);
  const at = Buffer.from(bytes).indexOf(Buffer.from(from));
  expect(at).to.be.greaterThan(0);
  bytes.set(new TextEncoder().encode(to), at);
  return bytes;
}

describe('net protocol: consumer-group kinds', () => {
  it('round-trips find-coordinator', () => {
    roundTrip({ type: 'request', kind: 'find-coordinator', request: { groupId: 'orders/eu' } });
    roundTrip({ type: 'response', kind: 'find-coordinator', response: { nodeId: 3, url: 'ws://127.0.0.1:9094' } });
    roundTrip({ type: 'response', kind: 'find-coordinator', response: { error: 'COORDINATOR_NOT_AVAILABLE', message: 'creating __consumer_offsets' } });
  });

  it('round-trips consumer-group-heartbeat with and without its optional fields', () => {
    const join = {
      groupId: 'g',
      memberId: 'm-1',
      memberEpoch: 0,
      instanceId: '',
      clientId: 'c',
      rebalanceTimeoutMs: 300_000,
      sessionTimeoutMs: 45_000,
      subscribedTopics: ['a', 'b'],
      ownedPartitions: [],
      assignor: '',
    };
    roundTrip({ type: 'request', kind: 'consumer-group-heartbeat', request: join });
    // Absent and empty are different things: absent = unchanged.
    const { subscribedTopics: _s, ownedPartitions: _o, ...steady } = join;
    roundTrip({ type: 'request', kind: 'consumer-group-heartbeat', request: { ...steady, memberEpoch: 7, instanceId: 'i-1', assignor: 'range' } });
    roundTrip({ type: 'request', kind: 'consumer-group-heartbeat', request: { ...steady, memberEpoch: -2, subscribedTopics: [] } });
    roundTrip({ type: 'request', kind: 'consumer-group-heartbeat', request: { ...steady, memberEpoch: -1, ownedPartitions: [{ topic: 'a', partitions: [0, 2] }, { topic: 'b', partitions: [] }] } });
    roundTrip({ type: 'response', kind: 'consumer-group-heartbeat', response: { memberId: 'm-1', memberEpoch: 3, heartbeatIntervalMs: 3000, assignment: [{ topic: 'a', partitions: [1] }] } });
    roundTrip({ type: 'response', kind: 'consumer-group-heartbeat', response: { memberId: 'm-1', memberEpoch: 3, heartbeatIntervalMs: 3000, assignment: [] } });
    roundTrip({ type: 'response', kind: 'consumer-group-heartbeat', response: { memberId: 'm-1', memberEpoch: 3, heartbeatIntervalMs: 3000 } });
    roundTrip({ type: 'response', kind: 'consumer-group-heartbeat', response: { error: 'FENCED_MEMBER_EPOCH', message: 'rejoin' } });
  });

  it('round-trips offset-commit with per-partition errors', () => {
    roundTrip({
      type: 'request',
      kind: 'offset-commit',
      request: { groupId: 'g', memberId: '', memberEpoch: -1, offsets: [{ topic: 't', partition: 0, offset: 2 ** 40, leaderEpoch: -1, metadata: 'ünïcode' }] },
    });
    roundTrip({
      type: 'response',
      kind: 'offset-commit',
      response: {
        results: [
          { topic: 't', partition: 0 },
          { topic: 't', partition: 9, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: 't-9' },
        ],
      },
    });
    roundTrip({ type: 'response', kind: 'offset-commit', response: { error: 'STALE_MEMBER_EPOCH', message: 'heartbeat first' } });
  });

  it('round-trips offset-fetch: all offsets, some topics, some partitions', () => {
    roundTrip({ type: 'request', kind: 'offset-fetch', request: { groupId: 'g' } });
    roundTrip({ type: 'request', kind: 'offset-fetch', request: { groupId: 'g', topics: [] } });
    roundTrip({ type: 'request', kind: 'offset-fetch', request: { groupId: 'g', topics: [{ topic: 'a' }, { topic: 'b', partitions: [] }, { topic: 'c', partitions: [3, 1] }] } });
    roundTrip({
      type: 'response',
      kind: 'offset-fetch',
      response: { offsets: [{ topic: 'a', partition: 0, offset: -1, leaderEpoch: -1, metadata: '' }, { topic: 'a', partition: 1, offset: 12, leaderEpoch: 4, metadata: 'm' }] },
    });
    roundTrip({ type: 'response', kind: 'offset-fetch', response: { error: 'COORDINATOR_LOAD_IN_PROGRESS', message: 'loading' } });
  });

  it('round-trips list-groups, describe-groups and delete-groups', () => {
    roundTrip({ type: 'request', kind: 'list-groups', request: {} });
    roundTrip({ type: 'response', kind: 'list-groups', response: { groups: [{ groupId: 'g', state: 'stable', members: 2 }, { groupId: 'h', state: 'empty', members: 0 }] } });
    roundTrip({ type: 'request', kind: 'describe-groups', request: { groupIds: ['g', 'h'] } });
    roundTrip({
      type: 'response',
      kind: 'describe-groups',
      response: {
        groups: [
          {
            groupId: 'g',
            state: 'reconciling',
            groupEpoch: 5,
            assignmentEpoch: 5,
            assignor: 'uniform',
            members: [
              {
                memberId: 'm-1',
                instanceId: 'i',
                clientId: 'c',
                memberEpoch: 4,
                subscribedTopics: ['t'],
                assignment: [{ topic: 't', partitions: [0] }],
                targetAssignment: [{ topic: 't', partitions: [0, 1] }],
              },
            ],
          },
          { groupId: 'h', error: 'GROUP_ID_NOT_FOUND', message: 'no group h' },
        ],
      },
    });
    roundTrip({ type: 'request', kind: 'delete-groups', request: { groupIds: ['g'] } });
    roundTrip({ type: 'response', kind: 'delete-groups', response: { results: [{ groupId: 'g' }, { groupId: 'h', error: 'NON_EMPTY_GROUP', message: '2 members' }] } });
  });

  it('refuses an unknown group error code or group state', () => {
    const badCode = encodeFrame({ correlationId: 1, body: { type: 'response', kind: 'find-coordinator', response: { error: 'NOT_COORDINATOR', message: 'x' } } });
    expect(() => decodeFrame(swapText(badCode, 'NOT_COORDINATOR', 'NOT_A_REAL_CODE'))).to.throw(NetError).with.property('code', 'MALFORMED_FRAME');
    const badState = encodeFrame({ correlationId: 1, body: { type: 'response', kind: 'list-groups', response: { groups: [{ groupId: 'g', state: 'stable', members: 1 }] } } });
    expect(() => decodeFrame(swapText(badState, 'stable', 'stolen'))).to.throw(NetError).with.property('code', 'MALFORMED_FRAME');
  });

  it('asserts on an epoch that is not an int32', () => {
    expect(() =>
      encodeFrame({ correlationId: 1, body: { type: 'response', kind: 'consumer-group-heartbeat', response: { memberId: 'm', memberEpoch: 2 ** 31, heartbeatIntervalMs: 1 } } }),
    ).to.throw(AssertionError);
  });

  it('accepts internal on create-topics and refuses it when not a boolean', () => {
    roundTrip({ type: 'request', kind: 'controller', request: { kind: 'create-topics', topics: [{ name: '__consumer_offsets', numPartitions: 8, replicationFactor: 3 }], validateOnly: false, internal: true } });
    const bytes = encodeFrame({
      correlationId: 1,
      body: { type: 'request', kind: 'controller', request: { kind: 'create-topics', topics: [], validateOnly: false, internal: 'yes' as unknown as boolean } },
    });
    expect(() => decodeFrame(bytes)).to.throw(NetError).with.property('code', 'MALFORMED_FRAME');
  });
});
