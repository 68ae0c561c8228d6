/**
 * PeerTransport over real sockets: requests reach the right peer, a peer of another cluster is
 * refused, an unreachable peer fails fast and then backs off (requests during the backoff reject at
 * once), and close() settles everything. Bounded waits only.
 */
import { expect } from 'chai';
import { NetError } from '../../src/net/errors.js';
import { NetServer } from '../../src/net/server.js';
import { PeerTransport } from '../../src/node/peer-transport.js';
import { systemClock } from '../../src/node/system-ports.js';
import { SeededRandom } from '../../src/util/random.js';

describe('PeerTransport', () => {
  const servers: NetServer[] = [];
  const transports: PeerTransport[] = [];

  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function server(nodeId: number, clusterId: string): Promise<NetServer> {
    const s = await NetServer.listen({ nodeId, clusterId });
    s.handle('metadata', async () => ({ clusterId, controllerId: nodeId, brokers: [], topics: [] }));
    servers.push(s);
    return s;
  }

  function transport(urls: Record<number, string>): PeerTransport {
    const t = new PeerTransport({
      selfId: 1,
      clusterId: 'c1',
      resolveUrl: (id) => urls[id],
      clock: systemClock,
      random: new SeededRandom(7),
      logger: () => {},
      onRaft: () => {},
      backoffInitialMs: 2000,
      connectTimeoutMs: 2000,
    });
    transports.push(t);
    return t;
  }

  async function rejection(p: Promise<unknown>): Promise<NetError> {
    try {
      await p;
    } catch (e) {
      expect(e).to.be.instanceOf(NetError);
      return e as NetError;
    }
    throw new Error('expected a rejection');
  }

  it('sends requests to the right peer and reuses the connection', async () => {
    const s2 = await server(2, 'c1');
    const t = transport({ 2: s2.url });
    const a = await t.request(2, 'metadata', {});
    const b = await t.request(2, 'metadata', {});
    expect(a.controllerId).to.equal(2);
    expect(b.controllerId).to.equal(2);
    expect(s2.connections.size).to.equal(1);
  });

  it('refuses a peer of another cluster or with another node id', async () => {
    const other = await server(2, 'c2');
    const wrongId = await server(5, 'c1');
    const t = transport({ 2: other.url, 3: wrongId.url });
    expect((await rejection(t.request(2, 'metadata', {}))).message).to.contain('cluster c2');
    expect((await rejection(t.request(3, 'metadata', {}))).message).to.contain('node 5');
  });

  it('fails fast for an unreachable or unknown peer and backs off', async () => {
    const s = await server(2, 'c1');
    const url = s.url;
    await s.close();
    servers.length = 0;
    const t = transport({ 2: url });
    const first = await rejection(t.request(2, 'metadata', {}));
    expect(first.code).to.equal('CONNECTION_CLOSED');
    const during = await rejection(t.request(2, 'metadata', {}));
    expect(during.message).to.contain('next attempt');
    expect((await rejection(t.request(9, 'metadata', {}))).message).to.contain('no address');
  });

  it('peerAlive ends the backoff towards a peer that came back', async () => {
    const down = await server(2, 'c1');
    const url = down.url;
    const port = Number(new URL(url).port);
    await down.close();
    servers.length = 0;
    const t = transport({ 2: url });
    await rejection(t.request(2, 'metadata', {}));
    const back = await NetServer.listen({ nodeId: 2, clusterId: 'c1', port });
    back.handle('metadata', async () => ({ clusterId: 'c1', controllerId: 2, brokers: [], topics: [] }));
    servers.push(back);
    expect((await rejection(t.request(2, 'metadata', {}))).message, 'still backing off (2 s)').to.contain('next attempt');
    t.peerAlive(2);
    expect((await t.request(2, 'metadata', {})).controllerId).to.equal(2);
  });

  it('rejects everything after close', async () => {
    const s2 = await server(2, 'c1');
    const t = transport({ 2: s2.url });
    await t.request(2, 'metadata', {});
    await t.close();
    expect((await rejection(t.request(2, 'metadata', {}))).code).to.equal('CONNECTION_CLOSED');
  });
});
