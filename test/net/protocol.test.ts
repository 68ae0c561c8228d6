/**
 * The frame codec: every frame kind survives a round trip, 64-bit edges are exact or refused, record
 * payloads come back byte-identical, and bad input is a NetError — never another exception.
 */
import { expect } from 'chai';
import { NetError } from '../../src/net/errors.js';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, type Frame, type FrameBody } from '../../src/net/protocol.js';
import type { Message } from '../../src/raft/types.js';

const MAX = Number.MAX_SAFE_INTEGER;

function roundTrip(body: FrameBody, correlationId = 7): Frame {
  const frame: Frame = { correlationId, body };
  const decoded = decodeFrame(encodeFrame(frame));
  expect(decoded).to.deep.equal(frame);
  return decoded;
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Protobuf varint of a bigint (for hand-made frames the encoder refuses to make). */
function varint(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) b |= 0x80;
    out.push(b);
  } while (x > 0n);
  return out;
}

function expectNetError(fn: () => unknown, code: string): NetError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(NetError);
    expect((e as NetError).code).to.equal(code);
    return e as NetError;
  }
  throw new Error(`expected ${code}`);
}

describe('net protocol: frames', () => {
  it('round-trips the handshake, its answer and errors', () => {
    roundTrip({ type: 'handshake', handshake: { protocolVersion: PROTOCOL_VERSION, clientId: 'cli', nodeId: 0, credentials: new Uint8Array([1, 2, 3]) } }, 0);
    roundTrip({ type: 'handshake-response', handshake: { protocolVersion: PROTOCOL_VERSION, nodeId: 3, clusterId: 'c-1' } });
    roundTrip({ type: 'error', error: { code: 'TOO_MANY_REQUESTS', message: 'slow down', retriable: true } }, 0xffff_ffff);
  });

  it('round-trips every Raft message, with entry and snapshot bytes', () => {
    const env = { from: 1, to: 2, term: MAX };
    const messages: Message[] = [
      { ...env, type: 'vote', lastLogIndex: MAX, lastLogTerm: 0, transfer: true },
      { ...env, type: 'pre-vote', lastLogIndex: 1, lastLogTerm: 1, transfer: false },
      { ...env, type: 'vote-response', granted: true },
      { ...env, type: 'pre-vote-response', granted: false },
      {
        ...env,
        type: 'append',
        prevIndex: 9,
        prevTerm: 4,
        commitIndex: 8,
        entries: [
          { term: 5, index: 10, type: 1, data: new Uint8Array(0) },
          { term: 5, index: 11, type: 0, data: bytes(1000) },
        ],
      },
      { ...env, type: 'append-response', index: 11, rejected: false, hintIndex: 0, hintTerm: 0 },
      { ...env, type: 'append-response', index: 11, rejected: true, hintIndex: 3, hintTerm: 2, recovering: true },
      { ...env, type: 'heartbeat', commitIndex: 7, commitTerm: 3, leaderLastIndex: 12 },
      { ...env, type: 'heartbeat-response', lastIndex: 12 },
      { ...env, type: 'heartbeat-response', lastIndex: 0, recovering: true },
      { ...env, type: 'snapshot', snapshot: { index: 100, term: 4, data: bytes(5000, 3) } },
      { ...env, type: 'timeout-now' },
      { ...env, type: 'observe' },
    ];
    for (const message of messages) roundTrip({ type: 'raft', message }, 0);
  });

  it('round-trips fetch with int64 edges, and each fetch answer', () => {
    roundTrip({
      type: 'request',
      kind: 'fetch',
      request: { topicId: 't-1', partition: 2, replicaId: -1, brokerEpoch: MAX, sequence: -1, fetchOffset: MAX, lastFetchedEpoch: -1, currentLeaderEpoch: 2147483647, maxBytes: 1 << 20, minBytes: 1, maxWaitMs: 500 },
    });
    roundTrip({ type: 'response', kind: 'fetch', response: { records: bytes(100), highWatermark: 0, logStartOffset: -1, logEndOffset: MAX } });
    roundTrip({ type: 'response', kind: 'fetch', response: { divergingEpoch: { epoch: 3, endOffset: 42 }, highWatermark: 40 } });
    roundTrip({ type: 'response', kind: 'fetch', response: { error: 'FENCED_LEADER_EPOCH', message: 'old epoch' } });
  });

  it('round-trips replica-fetch: many partitions each way, answers in the request\'s order, and an empty one', () => {
    const partition = (topicId: string, p: number, fetchOffset: number) => ({
      topicId, partition: p, replicaId: 2, brokerEpoch: 7, sequence: 41 + p, fetchOffset, lastFetchedEpoch: 3, currentLeaderEpoch: 4, maxBytes: 1 << 20, minBytes: 1, maxWaitMs: 0,
    });
    roundTrip({
      type: 'request',
      kind: 'replica-fetch',
      request: { replicaId: 2, fetcherId: 3, maxWaitMs: 500, maxBytes: 10 << 20, partitions: [partition('a', 0, 0), partition('a', 1, MAX), partition('b', 0, 12)] },
    });
    roundTrip({ type: 'request', kind: 'replica-fetch', request: { replicaId: 2, fetcherId: 0, maxWaitMs: 0, maxBytes: 0, partitions: [] } });
    roundTrip({
      type: 'response',
      kind: 'replica-fetch',
      response: {
        partitions: [
          { records: bytes(300, 1), highWatermark: 5, logStartOffset: 0, logEndOffset: 9 },
          { records: bytes(0), highWatermark: MAX, logStartOffset: 3, logEndOffset: MAX },
          { divergingEpoch: { epoch: 3, endOffset: 42 }, highWatermark: 40 },
          { error: 'NOT_LEADER_OR_FOLLOWER', message: 'moved' },
        ],
      },
    });
    roundTrip({ type: 'response', kind: 'replica-fetch', response: { partitions: [] } });
  });

  it('carries a 4 MiB record payload byte-identical', () => {
    const records = bytes(4 * 1024 * 1024, 9);
    const decoded = roundTrip({ type: 'request', kind: 'produce', request: { topicId: 't', partition: 0, acks: -1, timeoutMs: 30000, records } });
    const body = decoded.body;
    if (body.type !== 'request' || body.kind !== 'produce') throw new Error('wrong kind');
    expect(body.request.records.length).to.equal(records.length);
    expect(Buffer.compare(Buffer.from(body.request.records), Buffer.from(records))).to.equal(0);
  });

  it('round-trips produce, list-offsets and metadata', () => {
    for (const acks of [0, 1, -1] as const) roundTrip({ type: 'request', kind: 'produce', request: { topicId: 't', partition: 1, acks, timeoutMs: 10, records: new Uint8Array([7]) } });
    roundTrip({ type: 'response', kind: 'produce', response: { baseOffset: MAX - 1, lastOffset: MAX, duplicate: true } });
    roundTrip({ type: 'response', kind: 'produce', response: { error: 'NOT_ENOUGH_REPLICAS', message: 'isr 1 < 2' } });
    roundTrip({ type: 'request', kind: 'list-offsets', request: { topicId: 't', partition: 0, timestamp: -2 } });
    roundTrip({ type: 'response', kind: 'list-offsets', response: { offset: 5, timestamp: 1_700_000_000_000 } });
    roundTrip({ type: 'response', kind: 'list-offsets', response: { error: 'NOT_LEADER_OR_FOLLOWER', message: 'no' } });
    roundTrip({ type: 'request', kind: 'metadata', request: {} });
    roundTrip({ type: 'request', kind: 'metadata', request: { topics: [] } });
    roundTrip({ type: 'request', kind: 'metadata', request: { topics: ['a', 'b'] } });
    roundTrip({
      type: 'response',
      kind: 'metadata',
      response: {
        clusterId: 'c',
        controllerId: -1,
        brokers: [{ id: 1, endpoints: [{ name: 'client', url: 'ws://127.0.0.1:9092' }], rack: '', fenced: false }],
        topics: [
          { name: 'a', topicId: 'id-a', partitions: [{ partition: 0, leader: 1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1, 3] }, { partition: 1, leader: -1, leaderEpoch: 0, replicas: [2], isr: [] }] },
          { name: 'gone', error: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'no such topic' },
        ],
      },
    });
  });

  it('round-trips controller requests and answers', () => {
    roundTrip({ type: 'request', kind: 'controller', request: { kind: 'create-topics', topics: [{ name: 'x', numPartitions: 3, replicationFactor: -1, configs: { 'retention.ms': '1000' } }], validateOnly: false } });
    roundTrip({ type: 'request', kind: 'controller', request: { kind: 'broker-heartbeat', brokerId: 1, brokerEpoch: 12, metadataOffset: 99, wantShutdown: false } });
    roundTrip({ type: 'request', kind: 'controller', request: { kind: 'alter-configs', resource: '', changes: [{ name: 'a' }, { name: 'b', value: '1' }], validateOnly: true } });
    roundTrip({ type: 'response', kind: 'controller', response: { kind: 'register-broker', response: { brokerEpoch: 17 } } });
    roundTrip({ type: 'response', kind: 'controller', response: { kind: 'register-broker', response: { error: 'NOT_CONTROLLER', message: 'ask node 2' } } });
  });
});

describe('net protocol: bad input', () => {
  it('refuses to encode numbers that do not fit (a programmer error)', () => {
    expect(() => encodeFrame({ correlationId: 1, body: { type: 'request', kind: 'list-offsets', request: { topicId: 't', partition: 0, timestamp: MAX + 2 } } })).to.throw(/safe integer/);
    expect(() => encodeFrame({ correlationId: 1, body: { type: 'request', kind: 'list-offsets', request: { topicId: 't', partition: 1.5, timestamp: 0 } } })).to.throw(/int32/);
    expect(() => encodeFrame({ correlationId: -1, body: { type: 'request', kind: 'metadata', request: {} } })).to.throw(/uint32/);
  });

  it('decodes an int64 beyond 2^53 as MALFORMED_FRAME, and exactly up to it', () => {
    // Frame { correlation_id: 1, list_offsets (12) { timestamp (3): v } }
    const frameWith = (v: bigint): Uint8Array => {
      const inner = [0x18, ...varint(v)];
      return new Uint8Array([0x08, 0x01, (12 << 3) | 2, inner.length, ...inner]);
    };
    const ok = decodeFrame(frameWith(BigInt(MAX)));
    expect(ok.body).to.deep.include({ kind: 'list-offsets' });
    if (ok.body.type === 'request' && ok.body.kind === 'list-offsets') expect(ok.body.request.timestamp).to.equal(MAX);
    const e = expectNetError(() => decodeFrame(frameWith(2n ** 53n)), 'MALFORMED_FRAME');
    expect(e.message).to.match(/timestamp is not a safe integer/);
    expectNetError(() => decodeFrame(frameWith(-(2n ** 60n))), 'MALFORMED_FRAME');
    const neg = decodeFrame(frameWith(-(2n ** 53n) + 1n));
    if (neg.body.type === 'request' && neg.body.kind === 'list-offsets') expect(neg.body.request.timestamp).to.equal(-MAX);
  });

  it('rejects garbage, empty and unknown frames with a NetError', () => {
    expectNetError(() => decodeFrame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])), 'MALFORMED_FRAME');
    expectNetError(() => decodeFrame(new Uint8Array([0x12, 0x40, 1, 2])), 'MALFORMED_FRAME'); // truncated
    expectNetError(() => decodeFrame(new Uint8Array(0)), 'UNKNOWN_FRAME');
    // field 99, length-delimited, 2 bytes: a body from a newer version
    expectNetError(() => decodeFrame(new Uint8Array([0x08, 0x05, 0x9a, 0x06, 0x02, 0x00, 0x00])), 'UNKNOWN_FRAME');
    for (let seed = 1; seed <= 300; seed++) {
      try {
        decodeFrame(bytes(1 + (seed % 64), seed));
      } catch (e) {
        expect(e, `seed ${seed}`).to.be.instanceOf(NetError);
      }
    }
  });

  it('rejects bad enum values and controller bodies of the wrong shape', () => {
    // produce (10) { acks (3, sint32): zigzag(5) = 10 }
    expectNetError(() => decodeFrame(new Uint8Array([0x08, 0x01, (10 << 3) | 2, 2, 0x18, 10])), 'MALFORMED_FRAME');
    const controller = (kind: string, json: string): Uint8Array => {
      const k = Buffer.from(kind);
      const j = Buffer.from(json);
      const inner = [0x0a, k.length, ...k, 0x12, j.length, ...j];
      return new Uint8Array([0x08, 0x01, (6 << 3) | 2, inner.length, ...inner]);
    };
    expect(decodeFrame(controller('delete-topics', '{"kind":"delete-topics","names":["a"]}')).body).to.deep.equal({ type: 'request', kind: 'controller', request: { kind: 'delete-topics', names: ['a'] } });
    expectNetError(() => decodeFrame(controller('delete-topics', '{"kind":"delete-topics","names":[1]}')), 'MALFORMED_FRAME');
    expectNetError(() => decodeFrame(controller('delete-topics', '{"kind":"delete-topics","names":[],"x":1}')), 'MALFORMED_FRAME');
    expectNetError(() => decodeFrame(controller('delete-topics', '{"kind":"create-topics"}')), 'MALFORMED_FRAME');
    expectNetError(() => decodeFrame(controller('nuke', '{"kind":"nuke"}')), 'MALFORMED_FRAME');
    expectNetError(() => decodeFrame(controller('delete-topics', '{not json')), 'MALFORMED_FRAME');
  });
});
