/**
 * KIP-320 truncation detection end to end. A consumer can only see records below the HW, and those
 * survive any clean leader change; so the scenario is an unclean election (the topic allows it):
 *
 *   partition replicas {A, B}, third node C       (the unit tests cover the same logic on a fake)
 *   1. 5 records, replicated to A and B; the consumer reads them
 *   2. B stops (leaves the ISR); 5 more records, acknowledged by A alone; the consumer reads them
 *   3. C stops (no controller quorum any more), then A (its controlled shutdown cannot finish)
 *   4. B and C start: a quorum again; A is fenced, and B — not in the ISR — is elected uncleanly,
 *      with only the first 5 records, in a new leader epoch
 *   5. the consumer, at offset 10 with the epoch of what it read, is told the log diverged at 5:
 *      it reports TRUNCATION { fromOffset: 10, toOffset: 5 } and reads B's new records from offset 5.
 *
 * Step 4 relies on B registering before A's session times out at the new controller (otherwise the
 * partition stays offline): sessionTimeoutMs is raised for that margin.
 */
import { expect } from 'chai';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { ConsumerEvents, messageText, type CrashPayload, type TruncationPayload } from '../../src/client/consumer-types.js';
import { ConsumerTestCluster, textRecords, waitFor } from '../support/consumer-cluster.js';

describe('consumer: truncation after an unclean leader election (end to end)', function () {
  this.timeout(120_000);
  let cluster: ConsumerTestCluster | undefined;
  let consumer: Consumer | undefined;

  afterEach(async () => {
    await consumer?.disconnect();
    consumer = undefined;
    await cluster?.stop();
    cluster = undefined;
  });

  it('reports the truncation and continues from where the logs agree', async () => {
    const c3 = await ConsumerTestCluster.start(3, { sessionTimeoutMs: 6000, controlledShutdownTimeoutMs: 1000 });
    cluster = c3;
    const topic = await c3.createTopic('unclean', 1, 2, { 'unclean.leader.election.enable': 'true' });
    const p0 = topic.partitions[0]!;
    const a = p0.leader;
    const b = p0.replicas.find((r) => r !== a)!;
    const c = [...c3.nodes.keys()].find((id) => id !== a && id !== b)!;

    const urls = c3.urls;
    const con = new Consumer(new Cluster({ brokers: urls, clientId: 'truncation-test', requestTimeoutMs: 3000, connectTimeoutMs: 2000 }), { maxWaitTimeInMs: 200 });
    consumer = con;
    const crashes: CrashPayload[] = [];
    const truncations: TruncationPayload[] = [];
    con.on(ConsumerEvents.CRASH, (e) => crashes.push(e.payload));
    con.on(ConsumerEvents.TRUNCATION, (e) => truncations.push(e.payload));
    await con.connect();
    await con.assign([{ topic: 'unclean', fromBeginning: true }]);
    const got: Array<[number, string]> = [];
    await con.run({ eachMessage: async ({ message }) => void got.push([message.offset, messageText(message.value)!]) });

    // 1. Replicated to both.
    await waitFor('B in the ISR', 20_000, async () => {
      const m = await c3.metadata(['unclean']);
      const t = m.topics[0];
      return t !== undefined && !('error' in t) && t.partitions[0]!.isr.includes(b) ? true : undefined;
    });
    await c3.produce('unclean', 0, textRecords('one', 5));
    await waitFor('the first five', 20_000, () => (got.length === 5 ? true : undefined));

    // 2. B leaves; A alone acknowledges five more.
    await c3.stopNode(b);
    await waitFor('ISR = {A}', 20_000, async () => {
      const m = await c3.metadata(['unclean']);
      const t = m.topics[0];
      return t !== undefined && !('error' in t) && t.partitions[0]!.isr.join() === String(a) ? true : undefined;
    });
    await c3.produce('unclean', 0, textRecords('two', 5));
    await waitFor('all ten', 20_000, () => (got.length === 10 ? true : undefined));
    expect(con.position({ topic: 'unclean', partition: 0 })).to.equal(10);

    // 3. No quorum, then A goes too.
    await c3.stopNode(c);
    await c3.stopNode(a);

    // 4. B and C come back; B is elected without the last five records.
    await Promise.all([c3.startNode(b), c3.startNode(c)]);
    await waitFor('B leads the partition', 60_000, async () => {
      const m = await c3.metadata(['unclean']);
      const t = m.topics[0];
      return t !== undefined && !('error' in t) && t.partitions[0]!.leader === b ? true : undefined;
    });

    // 5. The consumer is told, and goes on from offset 5.
    await waitFor('the truncation report', 30_000, () => (truncations.length > 0 ? true : undefined));
    expect(truncations).to.have.length(1);
    expect(truncations[0]).to.include({ topic: 'unclean', partition: 0, fromOffset: 10, toOffset: 5 });
    expect(truncations[0]!.leaderEpoch).to.be.at.least(0);
    await c3.produce('unclean', 0, textRecords('three', 2));
    await waitFor('the new records', 30_000, () => (got.length === 12 ? true : undefined));
    expect(got.slice(10)).to.deep.equal([
      [5, 'three-0'],
      [6, 'three-1'],
    ]);
    expect(got.slice(0, 10).map(([o]) => o)).to.deep.equal([...Array(10).keys()]);
    expect(crashes.map((x) => x.error.message)).to.deep.equal([]);
  });
});
