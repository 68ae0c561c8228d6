/**
 * LinkProxy over real sockets: bytes pass both ways in order; a blackhole holds them (nothing arrives)
 * and delivers them once healed, like TCP retransmitting after a partition; `cut` resets connections
 * and refuses new ones; `slow` delays without reordering. Bounded waits only, no timing assertions
 * beyond "not delivered while held".
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { LinkProxy } from '../../chaos/link-proxy.js';
import { waitFor } from '../support/test-nodes.js';

describe('chaos LinkProxy', () => {
  let echo: Server;
  let echoPort: number;
  const proxies: LinkProxy[] = [];
  const sockets: Socket[] = [];

  before(async () => {
    // An echo server: every byte comes back.
    echo = createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    echoPort = (echo.address() as { port: number }).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  async function proxy(): Promise<LinkProxy> {
    const p = await LinkProxy.start({ targetPort: echoPort, name: 'test' });
    proxies.push(p);
    return p;
  }

  /** A client through the proxy, collecting what comes back. */
  async function client(p: LinkProxy): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
    let received = '';
    let closed = false;
    const socket = createConnection({ host: '127.0.0.1', port: p.port });
    sockets.push(socket);
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => (closed = true));
    // A refused connection may close before (or instead of) connecting.
    await new Promise<void>((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
    return { socket, received: () => received, closed: () => closed };
  }

  it('never listens on a port it was told to avoid (a node port chosen but not bound yet)', async () => {
    // Half of the ports a listen on port 0 can get (Linux hands out odd ports of the ephemeral range
    // for those; to be sure, every port that is 1 or 2 mod 4): without the rule, 20 proxies would
    // almost surely take some of them (each with a chance of about one half).
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
    const avoidPorts = new Set<number>();
    for (let port = low; port <= high; port++) if (port % 4 === 1 || port % 4 === 2) avoidPorts.add(port);
    for (let i = 0; i < 20; i++) {
      const p = await LinkProxy.start({ targetPort: echoPort, name: `avoid-${i}`, avoidPorts });
      proxies.push(p);
      expect(avoidPorts.has(p.port), `port ${p.port}`).to.equal(false);
    }
  });

  it('passes bytes both ways, in order', async () => {
    const p = await proxy();
    const c = await client(p);
    const expected = Array.from({ length: 200 }, (_, i) => `m${i};`).join('');
    for (let i = 0; i < 200; i++) c.socket.write(`m${i};`);
    await waitFor('the echo', 5000, () => (c.received() === expected ? true : undefined));
    expect(p.accepted).to.equal(1);
    expect(p.bytesForwarded).to.equal(2 * expected.length);
  });

  it('holds everything in a blackhole and delivers it, in order, once healed', async () => {
    const p = await proxy();
    const c = await client(p);
    c.socket.write('before;');
    await waitFor('the first echo', 5000, () => (c.received() === 'before;' ? true : undefined));
    p.setMode({ kind: 'blackhole' });
    c.socket.write('during-1;');
    c.socket.write('during-2;');
    // A new connection during the blackhole is accepted but not forwarded.
    const late = await client(p);
    late.socket.write('late;');
    await new Promise((r) => setTimeout(r, 300));
    expect(c.received(), 'nothing crosses a blackhole').to.equal('before;');
    expect(late.received()).to.equal('');
    p.setMode({ kind: 'pass' });
    await waitFor('the held bytes', 5000, () => (c.received() === 'before;during-1;during-2;' && late.received() === 'late;' ? true : undefined));
    expect(c.closed()).to.equal(false);
  });

  it('cut resets open connections and refuses new ones until healed', async () => {
    const p = await proxy();
    const c = await client(p);
    p.setMode({ kind: 'cut' });
    await waitFor('the reset', 5000, () => (c.closed() ? true : undefined));
    const refused = await client(p);
    await waitFor('the refusal', 5000, () => (refused.closed() ? true : undefined));
    expect(p.openConnections).to.equal(0);
    p.setMode({ kind: 'pass' });
    const again = await client(p);
    again.socket.write('again;');
    await waitFor('the echo after healing', 5000, () => (again.received() === 'again;' ? true : undefined));
  });

  it('slow delivers late but in order', async () => {
    const p = await proxy();
    const c = await client(p);
    p.setMode({ kind: 'slow', delayMs: 150, jitterMs: 100 });
    const expected = Array.from({ length: 50 }, (_, i) => `s${i};`).join('');
    for (let i = 0; i < 50; i++) c.socket.write(`s${i};`);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.received(), 'nothing yet after 50 ms of a 150 ms delay (each way)').to.equal('');
    await waitFor('the delayed echo', 5000, () => (c.received() === expected ? true : undefined));
  });

  it('under backpressure waits for one drain, however many delayed writes found the sink full', async () => {
    // A target that does not read until told: the proxy's writes to it fill the kernel's buffers.
    const stalled: Socket[] = [];
    let bytesRead = 0;
    const target = createServer((s) => {
      s.on('error', () => {});
      s.pause();
      s.on('data', (d: Buffer) => (bytesRead += d.length));
      stalled.push(s);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', () => resolve()));
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const p = await LinkProxy.start({ targetPort: (target.address() as { port: number }).port, name: 'stalled' });
      proxies.push(p);
      p.setMode({ kind: 'slow', delayMs: 20, jitterMs: 0 });
      const c = await client(p);
      const chunk = Buffer.alloc(64 * 1024, 7);
      const total = 256 * chunk.length;
      for (let i = 0; i < 256; i++) c.socket.write(chunk);
      await waitFor('the target to be stalled behind the proxy', 5000, () => (stalled.length > 0 ? true : undefined));
      await new Promise((r) => setTimeout(r, 300)); // the delay queue keeps writing into the full sink
      for (const s of stalled) s.resume();
      await waitFor('every byte at the target', 10_000, () => (bytesRead === total ? true : undefined));
      expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).to.deep.equal([]);
    } finally {
      process.off('warning', onWarning);
      for (const s of stalled) s.destroy();
      await new Promise<void>((resolve) => target.close(() => resolve()));
    }
  });
});
