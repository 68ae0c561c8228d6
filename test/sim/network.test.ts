/**
 * SimNetwork: latency bounds, partitions (symmetric and one-way), isolation, heal, duplication,
 * clogging, down nodes and determinism. Virtual time only; every random draw from a seeded PRNG.
 */

import { expect } from 'chai';
import { Scheduler } from '../../sim/scheduler.js';
import { SimNetwork } from '../../sim/network.js';
import type { NetworkEvent, NetworkProfile } from '../../sim/network.js';
import { SeededRandom } from '../../src/util/random.js';

interface Msg {
  from: number;
  to: number;
  id: number;
}

function setup(seed = 1, profile?: NetworkProfile) {
  const scheduler = new Scheduler();
  const delivered: Array<{ atMs: number; msg: Msg }> = [];
  const events: Array<NetworkEvent<Msg>> = [];
  const options = {
    scheduler,
    random: new SeededRandom(seed),
    deliver: (msg: Msg) => delivered.push({ atMs: scheduler.nowMs(), msg }),
    observe: (e: NetworkEvent<Msg>) => events.push(e),
    size: () => 100,
  };
  const network = new SimNetwork<Msg>(profile ? { ...options, profile } : options);
  return { scheduler, network, delivered, events };
}

const lossy: NetworkProfile = {
  latencyMs: { min: 1, max: 50 },
  dropProbability: 0.1,
  duplicateProbability: 0.1,
  reorderProbability: 0.2,
};

describe('SimNetwork', () => {
  it('delivers with latency inside the profile bounds, and both bounds occur', async () => {
    const { scheduler, network, delivered } = setup(7);
    network.setProfile({ latencyMs: { min: 3, max: 8 }, dropProbability: 0, duplicateProbability: 0, reorderProbability: 0 });
    for (let i = 0; i < 400; i++) network.send({ from: 1, to: 2, id: i });
    await scheduler.runUntil();
    expect(delivered).to.have.length(400);
    const latencies = new Set(delivered.map((d) => d.atMs));
    expect(Math.min(...latencies)).to.equal(3);
    expect(Math.max(...latencies)).to.equal(8);
    expect(network.stats).to.include({ sent: 400, delivered: 400, dropped: 0, duplicated: 0, inFlight: 0 });
    expect(network.stats.bytesDelivered).to.equal(40_000);
  });

  it('random latency reorders messages on one link', async () => {
    const { scheduler, network, delivered } = setup(3);
    for (let i = 0; i < 50; i++) network.send({ from: 1, to: 2, id: i });
    await scheduler.runUntil();
    const ids = delivered.map((d) => d.msg.id);
    expect(ids).to.not.deep.equal([...ids].sort((a, b) => a - b));
  });

  it('partition drops messages both ways, and not within a side', async () => {
    const { scheduler, network, delivered, events } = setup();
    network.partition([1], [2, 3]);
    network.send({ from: 1, to: 2, id: 0 });
    network.send({ from: 3, to: 1, id: 1 });
    network.send({ from: 2, to: 3, id: 2 });
    await scheduler.runUntil();
    expect(delivered.map((d) => d.msg.id)).to.deep.equal([2]);
    expect(events.filter((e) => e.kind === 'drop').map((e) => e.kind === 'drop' && e.reason)).to.deep.equal(['blocked', 'blocked']);
  });

  it('a one-way block drops only that direction', async () => {
    const { scheduler, network, delivered } = setup();
    network.blockLink(1, 2);
    network.send({ from: 1, to: 2, id: 0 });
    network.send({ from: 2, to: 1, id: 1 });
    await scheduler.runUntil();
    expect(delivered.map((d) => d.msg.id)).to.deep.equal([1]);
    network.unblockLink(1, 2);
    network.send({ from: 1, to: 2, id: 2 });
    await scheduler.runUntil();
    expect(delivered.map((d) => d.msg.id)).to.deep.equal([1, 2]);
  });

  it('drops messages in flight when their link is blocked at delivery time', async () => {
    const { scheduler, network, delivered } = setup();
    network.send({ from: 1, to: 2, id: 0 });
    network.send({ from: 2, to: 1, id: 1 });
    network.blockLink(1, 2);
    await scheduler.runUntil();
    expect(delivered.map((d) => d.msg.id)).to.deep.equal([1]);
    expect(network.stats).to.include({ sent: 2, delivered: 1, dropped: 1 });
  });

  it('isolate cuts a node off both ways; heal restores everything', async () => {
    const { scheduler, network, delivered } = setup();
    network.isolate(2);
    network.partition([1], [3]);
    network.clog(3, 1000);
    for (const [from, to] of [[1, 2], [2, 3], [3, 2], [1, 3]] as const) network.send({ from, to, id: from * 10 + to });
    await scheduler.runUntil();
    expect(delivered).to.have.length(0);
    network.heal();
    for (const [from, to] of [[1, 2], [2, 3], [3, 2], [1, 3]] as const) network.send({ from, to, id: from * 10 + to });
    await scheduler.runUntil();
    expect(delivered.map((d) => d.msg.id).sort()).to.deep.equal([12, 13, 23, 32]);
    expect(Math.max(...delivered.map((d) => d.atMs))).to.be.lessThan(1000);
  });

  it('duplicates deliver the same message twice', async () => {
    const { scheduler, network, delivered } = setup(5, {
      latencyMs: { min: 1, max: 10 }, dropProbability: 0, duplicateProbability: 1, reorderProbability: 0,
    });
    network.send({ from: 1, to: 2, id: 42 });
    await scheduler.runUntil();
    expect(delivered.map((d) => d.msg.id)).to.deep.equal([42, 42]);
    expect(network.stats).to.include({ sent: 1, delivered: 2, duplicated: 1, dropped: 0 });
  });

  it('clog adds delay to messages from and to the node; unclog removes it', async () => {
    const { scheduler, network, delivered } = setup(2, {
      latencyMs: { min: 5, max: 5 }, dropProbability: 0, duplicateProbability: 0, reorderProbability: 0,
    });
    network.clog(2, 100);
    network.send({ from: 1, to: 2, id: 0 });
    network.send({ from: 2, to: 3, id: 1 });
    network.send({ from: 1, to: 3, id: 2 });
    await scheduler.runUntil();
    expect(delivered.map((d) => [d.msg.id, d.atMs])).to.deep.equal([[2, 5], [0, 105], [1, 105]]);
    network.unclog(2);
    network.send({ from: 1, to: 2, id: 3 });
    await scheduler.runUntil();
    expect(delivered.at(-1)).to.deep.equal({ atMs: 110, msg: { from: 1, to: 2, id: 3 } });
  });

  it('swizzleClog clogs a random subset one by one, then unclogs all in some order', async () => {
    const { scheduler, network, delivered } = setup(11, {
      latencyMs: { min: 5, max: 5 }, dropProbability: 0, duplicateProbability: 0, reorderProbability: 0,
    });
    const all = [1, 2, 3, 4, 5];
    const swizzle = network.swizzleClog(all, { extraMs: 200, intervalMsMax: 20 });
    expect(swizzle.nodes.length).to.be.within(1, 5);
    expect([...swizzle.unclogOrder].sort()).to.deep.equal([...swizzle.nodes].sort());
    // Clogs happen one at a time.
    const cloggedCounts: number[] = [];
    const remove = scheduler.onAfterEvent(() => cloggedCounts.push(all.filter((n) => network.clogOf(n) > 0).length));
    await scheduler.runUntil({ until: () => swizzle.nodes.every((n) => network.clogOf(n) === 200) });
    remove();
    expect(cloggedCounts).to.deep.equal(swizzle.nodes.map((_, i) => i + 1));
    // Now exactly the subset is clogged: probe each node.
    const sentAt = scheduler.nowMs();
    for (const n of all) network.send({ from: 0, to: n, id: n });
    await scheduler.runUntil();
    expect(scheduler.nowMs()).to.be.at.least(swizzle.endsAtMs);
    for (const d of delivered) expect(d.atMs - sentAt).to.equal(swizzle.nodes.includes(d.msg.to) ? 205 : 5);
    for (const n of all) expect(network.clogOf(n)).to.equal(0);
  });

  it('heal cancels pending swizzle-clog steps', async () => {
    const { scheduler, network } = setup(4);
    network.swizzleClog([1, 2, 3], { extraMs: 500, intervalMsMax: 50 });
    expect(scheduler.pending).to.be.greaterThan(0);
    network.heal();
    expect(scheduler.pending).to.equal(0);
    await scheduler.runUntil();
    for (const n of [1, 2, 3]) expect(network.clogOf(n)).to.equal(0);
  });

  it('drops messages to a down node at delivery, and those addressed to a crashed incarnation', async () => {
    const { scheduler, network, delivered, events } = setup();
    network.send({ from: 1, to: 2, id: 0 });
    network.setDown(2, true);
    await scheduler.runUntil();
    network.send({ from: 1, to: 2, id: 1 }); // while down
    network.send({ from: 2, to: 1, id: 2 }); // from a down node
    await scheduler.runUntil();
    network.setDown(2, false);
    network.send({ from: 1, to: 3, id: 3 });
    network.send({ from: 1, to: 2, id: 4 }); // crashes and restarts while this is in flight
    network.setDown(2, true);
    network.setDown(2, false);
    network.send({ from: 1, to: 2, id: 5 });
    await scheduler.runUntil();
    expect(delivered.map((d) => d.msg.id).sort()).to.deep.equal([3, 5]);
    const reasons = events.flatMap((e) => (e.kind === 'drop' ? [[e.msg.id, e.reason]] : []));
    expect(reasons).to.deep.equal([[0, 'down'], [1, 'down'], [2, 'down'], [4, 'restarted']]);
    expect(network.isDown(2)).to.equal(false);
  });

  it('counts add up: sent + duplicated === delivered + dropped', async () => {
    const { scheduler, network } = setup(9, lossy);
    for (let i = 0; i < 1000; i++) network.send({ from: i % 3, to: (i + 1) % 3, id: i });
    scheduler.setTimer(20, () => network.partition([0], [1, 2]));
    await scheduler.runUntil();
    const st = network.stats;
    expect(st.sent + st.duplicated).to.equal(st.delivered + st.dropped);
    expect(st.duplicated).to.be.greaterThan(0);
    expect(st.dropped).to.be.greaterThan(100);
    expect(st.inFlight).to.equal(0);
  });

  it('is deterministic: same seed => identical delivery log; different seed => different', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const { scheduler, network, events } = setup(seed, lossy);
      network.swizzleClog([0, 1, 2, 3], { extraMs: 30, intervalMsMax: 10 });
      for (let i = 0; i < 300; i++) {
        scheduler.setTimer(i % 40, () => network.send({ from: i % 4, to: (i * 7 + 1) % 4, id: i }));
      }
      scheduler.setTimer(25, () => network.blockLink(1, 2));
      await scheduler.runUntil();
      return events.map((e) => `${e.atMs}:${e.kind}:${e.msg.id}:${e.duplicate}:${e.kind === 'drop' ? e.reason : ''}`);
    };
    const a = await run(1234);
    const b = await run(1234);
    const c = await run(1235);
    expect(a.length).to.be.greaterThan(300);
    expect(b).to.deep.equal(a);
    expect(c).to.not.deep.equal(a);
  });
});
