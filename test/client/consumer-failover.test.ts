/**
 * The consumer across a leader change, end to end: a real three-node cluster, records produced
 * (acks=all) while a consumer reads; the leader of partition 0 is stopped mid-stream; production and
 * consumption go on through the new leader. Every acknowledged record must be handed over exactly
 * once at its offset, offsets without gaps or repeats, and no error may surface.
 *
 * The raw test producer retries a timed-out batch (its outcome is unknown), so the log itself may
 * hold a record twice at two offsets: the check is per offset — what the log holds — not per value.
 */
import { expect } from 'chai';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { ConsumerEvents, messageText, type ConsumedMessage, type CrashPayload } from '../../src/client/consumer-types.js';
import { ConsumerTestCluster, textRecords, waitFor } from '../support/consumer-cluster.js';

describe('consumer: leader change mid-consume (end to end)', function () {
  this.timeout(90_000);
  let cluster: ConsumerTestCluster | undefined;
  let consumer: Consumer | undefined;

  afterEach(async () => {
    await consumer?.disconnect();
    consumer = undefined;
    await cluster?.stop();
    cluster = undefined;
  });

  it('continues with the new leader: every acknowledged record once, in order, no gaps', async () => {
    const c3 = await ConsumerTestCluster.start(3);
    cluster = c3;
    const topic = await c3.createTopic('failover', 2, 3);
    const c = new Consumer(new Cluster({ brokers: c3.urls, clientId: 'failover-test', requestTimeoutMs: 5000 }), { maxWaitTimeInMs: 200 });
    consumer = c;
    const crashes: CrashPayload[] = [];
    c.on(ConsumerEvents.CRASH, (e) => crashes.push(e.payload));
    await c.connect();
    await c.assign([{ topic: 'failover', fromBeginning: true }]);
    const got = new Map<number, ConsumedMessage[]>([
      [0, []],
      [1, []],
    ]);
    await c.run({ eachMessage: async ({ partition, message }) => void got.get(partition)!.push(message) });

    // Acknowledged records by partition and offset.
    const acked = new Map<number, Map<number, string>>([
      [0, new Map()],
      [1, new Map()],
    ]);
    let producing = true;
    let batchNo = 0;
    const producer = (async () => {
      while (producing) {
        const partition = batchNo % 2;
        const records = textRecords(`b${batchNo}`, 10);
        batchNo++;
        const { baseOffset } = await c3.produce('failover', partition, records);
        records.forEach((r, i) => acked.get(partition)!.set(baseOffset + i, new TextDecoder().decode(r.value!)));
      }
    })();

    await waitFor('consumption under way', 30_000, () => (got.get(0)!.length >= 100 ? true : undefined));
    const victim = topic.partitions.find((p) => p.partition === 0)!.leader;
    const ackedBefore = acked.get(0)!.size;
    await c3.stopNode(victim);
    await waitFor('records acknowledged by the new leader', 60_000, () => (acked.get(0)!.size >= ackedBefore + 100 ? true : undefined));
    const after = await c3.leaders('failover', 2, victim);
    expect(after.partitions.find((p) => p.partition === 0)?.leader).to.not.equal(victim);
    producing = false;
    await producer;

    const sentinels = new Map<number, number>();
    for (const p of [0, 1]) sentinels.set(p, (await c3.produce('failover', p, [{ key: null, value: new TextEncoder().encode('end') }])).baseOffset);
    await waitFor('both sentinels', 60_000, () => ([0, 1].every((p) => got.get(p)!.some((m) => messageText(m.value) === 'end')) ? true : undefined));

    for (const p of [0, 1]) {
      const messages = got.get(p)!;
      // Offsets 0..sentinel, each once, in order.
      expect(messages.map((m) => m.offset), `offsets of partition ${p}`).to.deep.equal([...Array(sentinels.get(p)! + 1).keys()]);
      const byOffset = new Map(messages.map((m) => [m.offset, messageText(m.value)]));
      for (const [offset, value] of acked.get(p)!) expect(byOffset.get(offset), `partition ${p} offset ${offset}`).to.equal(value);
    }
    // Records acknowledged by the new leader of partition 0 came through it.
    expect(acked.get(0)!.size).to.be.greaterThan(ackedBefore);
    expect(crashes.map((x) => x.error.message)).to.deep.equal([]);
  });
});
