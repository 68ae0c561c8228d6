/**
 * The client's Cluster against one real node: more concurrent requests to a broker than a connection
 * allows in flight wait their turn instead of failing TOO_MANY_REQUESTS.
 */
import { expect } from 'chai';
import { Cluster } from '../../src/client/cluster.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/net/connection.js';
import { ClientTestCluster } from '../support/client-test-cluster.js';

describe('client Cluster', () => {
  let nodes: ClientTestCluster;
  before(async () => {
    nodes = await ClientTestCluster.start(1);
  });
  after(async () => {
    await nodes?.stop();
  });

  it('queues requests beyond the connection\'s in-flight bound instead of failing them', async () => {
    const cluster = new Cluster({ brokers: nodes.urls, clientId: 'cluster-test' });
    await cluster.connect();
    try {
      const count = DEFAULT_CONNECTION_LIMITS.maxInFlightRequests * 3;
      const answers = await Promise.all(Array.from({ length: count }, () => cluster.request(1, 'metadata', { topics: [] })));
      expect(answers).to.have.length(count);
      for (const a of answers) expect(a.brokers.map((b) => b.id)).to.deep.equal([1]);
    } finally {
      await cluster.close();
    }
  });
});
