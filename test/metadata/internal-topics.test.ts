/**
 * Internal topics (names starting with `__`, such as `__consumer_offsets`): the controller creates them
 * only for a CreateTopics that says `internal: true` — which the node accepts from brokers only (see
 * test/node/groups.test.ts) — and refuses them otherwise, writing nothing.
 */
import { expect } from 'chai';
import type * as rpc from '../../src/metadata/rpc.js';
import { Harness } from './controller-harness.js';

async function threeBrokers(): Promise<Harness> {
  const h = new Harness();
  h.activate();
  await h.addBrokers([1, 2, 3]);
  return h;
}

describe('quorum controller: internal topics', () => {
  const topic: rpc.CreatableTopic = { name: '__consumer_offsets', numPartitions: 4, replicationFactor: 3, configs: { 'cleanup.policy': 'compact', 'min.insync.replicas': '2' } };

  it('refuses a __ name without internal, and with internal: false, proposing nothing', async () => {
    const h = await threeBrokers();
    for (const internal of [undefined, false]) {
      const mark = h.proposalCount;
      const res = await h.handle({ kind: 'create-topics', topics: [topic], validateOnly: false, ...(internal === undefined ? {} : { internal }) });
      const t = (res as rpc.CreateTopicsResponse).topics[0];
      expect(t).to.have.property('error', 'INVALID_TOPIC_NAME');
      expect(h.proposalCount).to.equal(mark);
    }
    expect(h.committed.topic('__consumer_offsets')).to.equal(undefined);
  });

  it('creates it with internal: true, with its configs', async () => {
    const h = await threeBrokers();
    const res = await h.handle({ kind: 'create-topics', topics: [topic], validateOnly: false, internal: true });
    const t = (res as rpc.CreateTopicsResponse).topics[0];
    expect(t, JSON.stringify(res)).to.not.have.property('error');
    const created = h.committed.topic('__consumer_offsets');
    expect(created?.partitions.size).to.equal(4);
    for (const p of created?.partitions.values() ?? []) expect(p.replicas).to.have.length(3);
    expect(h.committed.topicConfig('__consumer_offsets')).to.deep.equal({ 'cleanup.policy': 'compact', 'min.insync.replicas': '2' });
    // internal only lifts the reservation of the prefix; every other rule still holds.
    const again = await h.handle({ kind: 'create-topics', topics: [topic, { name: 'bad name', numPartitions: 1, replicationFactor: 1 }], validateOnly: false, internal: true });
    expect((again as rpc.CreateTopicsResponse).topics.map((x) => ('error' in x ? x.error : 'ok'))).to.deep.equal(['TOPIC_ALREADY_EXISTS', 'INVALID_TOPIC_NAME']);
  });
});
