/**
 * A browser bundle entry that needs no client library: the wire layer's client side and the record
 * batch codec — what src/client builds on — plus `rawRoundTrip`, which uses only them. browser.test.ts
 * bundles this for Chromium to prove the wire path on the browser's WebSocket (openConnection,
 * protobuf frames, record batches) independently of the client library.
 *
 * Runs in the page: no Node built-ins, plain timers, errors thrown as Errors with the server's code.
 */
import { openConnection } from '../../src/net/client-connection.js';
import type { Connection } from '../../src/net/connection.js';
import type { MetadataTopic } from '../../src/net/protocol.js';
import { decodeRecords, encodeRecordBatch, iterateBatches } from '../../src/partitions/record-batch.js';

export { openConnection } from '../../src/net/client-connection.js';
export { NetError } from '../../src/net/errors.js';
export { decodeRecords, encodeRecordBatch, iterateBatches } from '../../src/partitions/record-batch.js';

type Topic = Extract<MetadataTopic, { partitions: unknown }>;

export interface RawRoundTripResult {
  /** Offset of the first produced record. */
  readonly baseOffset: number;
  /** Values read back from the leader, from baseOffset on. */
  readonly consumed: string[];
  /** The clusterId the handshake answered (proof of a real server). */
  readonly clusterId: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `attempt` until it returns a value (undefined: not yet) or `timeoutMs` passes. */
async function retry<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${what}${last === undefined ? '' : ` (${String(last)})`}`);
    await sleep(100);
  }
}

/**
 * Creates `topic` (1 partition, 3 replicas), produces `values` with acks=all to its leader and reads
 * them back with fetch — raw wire requests over the environment's WebSocket.
 */
export async function rawRoundTrip(brokers: readonly string[], topic: string, values: readonly string[]): Promise<RawRoundTripResult> {
  const connections = new Map<string, Promise<Connection>>();
  const connect = async (url: string): Promise<Connection> => {
    const open = await connections.get(url)?.catch(() => undefined);
    if (open?.isOpen === true) return open;
    const opening = openConnection({ url, clientId: 'browser-raw', connectTimeoutMs: 5000 });
    connections.set(url, opening);
    return opening;
  };
  try {
    const seed = await connect(brokers[0] ?? '');
    await retry(`create ${topic}`, 20_000, async () => {
      const answer = await seed.request('controller', { kind: 'create-topics', topics: [{ name: topic, numPartitions: 1, replicationFactor: 3 }], validateOnly: false });
      const response = answer.response;
      if ('error' in response) return undefined; // NOT_CONTROLLER while an election runs: retry
      if (!('topics' in response)) throw new Error(`unexpected ${answer.kind} answer`);
      const result = response.topics[0];
      if (result !== undefined && 'error' in result && result.error !== 'TOPIC_ALREADY_EXISTS') throw new Error(`${result.error}: ${result.message}`);
      return true;
    });
    const leaderOf = (): Promise<{ url: string; topicId: string }> =>
      retry(`leader of ${topic}`, 20_000, async () => {
        const m = await seed.request('metadata', { topics: [topic] });
        const t = m.topics.find((x): x is Topic => x.name === topic && 'partitions' in x);
        const leader = t?.partitions[0]?.leader ?? -1;
        const url = m.brokers.find((b) => b.id === leader)?.endpoints[0]?.url;
        return t === undefined || url === undefined ? undefined : { url, topicId: t.topicId };
      });

    const encoder = new TextEncoder();
    const batch = encodeRecordBatch(
      values.map((v, i) => ({ key: encoder.encode(`k${i}`), value: encoder.encode(v) })),
      { timestampMs: Date.now() },
    );
    const produced = await retry(`produce to ${topic}`, 30_000, async () => {
      const { url, topicId } = await leaderOf();
      const c = await connect(url);
      const r = await c.request('produce', { topicId, partition: 0, acks: -1, timeoutMs: 5000, records: batch });
      if ('error' in r) return undefined; // NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS while the ISR forms: retry
      return { url, topicId, baseOffset: r.baseOffset };
    });

    const decoder = new TextDecoder();
    const consumed: string[] = [];
    let fetchOffset = produced.baseOffset;
    await retry(`fetch from ${topic}`, 20_000, async () => {
      const c = await connect(produced.url);
      const r = await c.request('fetch', {
        topicId: produced.topicId,
        partition: 0,
        replicaId: -1,
        brokerEpoch: -1,
        sequence: -1,
        fetchOffset,
        lastFetchedEpoch: -1,
        currentLeaderEpoch: -1,
        maxBytes: 1 << 20,
        minBytes: 1,
        maxWaitMs: 500,
      });
      if ('error' in r || 'divergingEpoch' in r) throw new Error(`fetch: ${JSON.stringify(r)}`);
      for (const { position } of iterateBatches(r.records)) {
        for (const record of decodeRecords(r.records, position)) {
          if (record.offset < fetchOffset) continue;
          consumed.push(record.value === null ? '' : decoder.decode(record.value));
          fetchOffset = record.offset + 1;
        }
      }
      return consumed.length >= values.length ? true : undefined;
    });
    return { baseOffset: produced.baseOffset, consumed, clusterId: seed.server?.clusterId ?? '' };
  } finally {
    for (const c of connections.values()) void c.then((x) => x.close(), () => undefined);
  }
}
