/**
 * Property: whatever the sequence of joins, leaves, heartbeats, lost answers, slow revocations, crashes,
 * session expiries, static restarts, subscription changes and new partitions, no partition is ever
 * consumed by two members at once — and once the faults stop, the group converges to a stable,
 * complete assignment.
 *
 * Each seed (SeededRandom) drives one ConsumerGroup and simulated KIP-848 clients that behave as the
 * contract asks: they start consuming a partition when an answer assigns it, stop consuming revoked
 * partitions whenever they get round to it (then report what they own), drop everything on
 * UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH, and a crashed or timed-out client consumes nothing.
 * Checked after every step: (1) no partition in two clients' consumed sets; (2) what a client consumes
 * is held for it by the coordinator (assigned or pending revocation), which is why (1) holds.
 */
import { expect } from 'chai';
import { DEFAULT_GROUP_CONFIG } from '../../src/groups/config.js';
import { ConsumerGroup, type GroupContext } from '../../src/groups/group.js';
import { held } from '../../src/groups/member.js';
import { has, pairs, partitionKey } from '../../src/groups/assignment.js';
import type { ConsumerGroupHeartbeatRequest, TopicPartitions } from '../../src/groups/rpc.js';
import { SeededRandom } from '../../src/util/random.js';

interface Client {
  readonly name: string;
  readonly instanceId: string;
  memberId: string;
  epoch: number;
  /** Partitions it consumes now: `topic:partition`. */
  readonly consuming: Set<string>;
  /** The last assignment it was given. */
  target: Set<string> | undefined;
  /** Send ownedPartitions with the next heartbeat. */
  report: boolean;
  subscriptions: string[];
  sendSubscriptions: boolean;
}

const TOPICS = ['t', 'u', 'v'];

function toWire(keys: Iterable<string>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const k of keys) {
    const [t, p] = k.split(':') as [string, string];
    byTopic.set(t, [...(byTopic.get(t) ?? []), Number(p)]);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

function runSeed(seed: number, steps: number): void {
  const random = new SeededRandom(seed);
  const counts = new Map<string, number>([['t', 6], ['u', 3], ['v', 1]]);
  const ctx: GroupContext = { topics: { partitionCount: (t) => counts.get(t) }, config: DEFAULT_GROUP_CONFIG };
  const group = new ConsumerGroup('g');
  const clients: Client[] = [];
  let serial = 0;
  const where = (step: number): string => `seed ${seed} step ${step}`;

  const pickSubscriptions = (): string[] => {
    const s = TOPICS.filter(() => random.int(3) > 0);
    return s.length === 0 ? ['t'] : s;
  };
  const spawn = (): void => {
    const isStatic = random.int(3) === 0;
    const name = `c${serial++}`;
    clients.push({
      name,
      instanceId: isStatic ? `host-${name}` : '',
      memberId: `${name}-m0`,
      epoch: 0,
      consuming: new Set(),
      target: undefined,
      report: false,
      subscriptions: pickSubscriptions(),
      sendSubscriptions: true,
    });
  };
  const dropAll = (c: Client): void => {
    c.consuming.clear();
    c.target = undefined;
    c.epoch = 0;
    c.sendSubscriptions = true;
  };

  const heartbeat = (c: Client, lost: boolean): void => {
    const joining = c.epoch === 0;
    const req: ConsumerGroupHeartbeatRequest = {
      groupId: 'g',
      memberId: c.memberId,
      memberEpoch: c.epoch,
      instanceId: c.instanceId,
      clientId: c.name,
      rebalanceTimeoutMs: 0,
      sessionTimeoutMs: 0,
      assignor: '',
      ...(joining || c.sendSubscriptions ? { subscribedTopics: c.subscriptions } : {}),
      ...(joining ? { ownedPartitions: [] } : c.report ? { ownedPartitions: toWire(c.consuming) } : {}),
    };
    if (joining) expect(c.consuming.size).to.equal(0);
    const r = group.heartbeat(req, ctx);
    if (lost) return;
    if ('error' in r) {
      if (r.error === 'UNKNOWN_MEMBER_ID' || r.error === 'FENCED_MEMBER_EPOCH') dropAll(c);
      else expect(r.error, JSON.stringify(r)).to.equal('UNRELEASED_INSTANCE_ID'); // waits for the old incarnation to expire
      return;
    }
    c.epoch = r.memberEpoch;
    c.sendSubscriptions = false;
    if (req.ownedPartitions !== undefined) c.report = false;
    if (r.assignment !== undefined) {
      c.target = new Set(r.assignment.flatMap((t) => t.partitions.map((p) => partitionKey(t.topic, p))));
      for (const k of c.target) c.consuming.add(k); // newly assigned partitions are free: start at once
      if ([...c.consuming].some((k) => !c.target?.has(k))) c.report = false;
      else c.report = true;
    }
  };
  const reconcile = (c: Client): void => {
    if (c.target === undefined) return;
    for (const k of [...c.consuming]) if (!c.target.has(k)) c.consuming.delete(k);
    c.report = true;
  };

  const check = (step: number): void => {
    const consumer = new Map<string, string>();
    for (const c of clients) {
      const m = group.member(c.memberId);
      const holds = m === undefined ? undefined : held(m);
      for (const k of c.consuming) {
        // Plain checks first: chai with a message per partition and step would dominate the run time.
        if (consumer.has(k)) expect.fail(`${where(step)}: ${k} consumed by ${consumer.get(k)} and ${c.name}`);
        consumer.set(k, c.name);
        const [t, p] = k.split(':') as [string, string];
        if (holds === undefined || !has(holds, t, Number(p))) expect.fail(`${where(step)}: ${c.name} consumes ${k} the coordinator does not hold for it`);
      }
    }
  };

  const silentMembers = (): string[] => group.members().map((m) => m.memberId).filter((id) => !clients.some((c) => c.memberId === id));

  for (let i = 0; i < 3; i++) spawn();
  for (let step = 0; step < steps; step++) {
    const c = clients[random.int(Math.max(1, clients.length))];
    const roll = random.int(100);
    if (c === undefined || roll < 4) spawn();
    else if (roll < 50) heartbeat(c, false);
    else if (roll < 56) heartbeat(c, true);
    else if (roll < 76) reconcile(c);
    else if (roll < 79) {
      // Leave for good.
      c.consuming.clear();
      expect(group.heartbeat({ groupId: 'g', memberId: c.memberId, memberEpoch: -1, instanceId: c.instanceId, clientId: c.name, rebalanceTimeoutMs: 0, sessionTimeoutMs: 0, assignor: '' }, ctx)).to.not.have.property('error');
      clients.splice(clients.indexOf(c), 1);
    } else if (roll < 82) {
      // Crash: consumes nothing from now on; the coordinator notices at session expiry.
      c.consuming.clear();
      clients.splice(clients.indexOf(c), 1);
    } else if (roll < 86) {
      // Session expiry of a member nobody heartbeats for (crashed, or a static one's old incarnation).
      const silent = silentMembers();
      const victim = silent[random.int(Math.max(1, silent.length))];
      if (victim !== undefined) expect(group.expire(victim, ctx)).to.equal(true);
    } else if (roll < 89) {
      // Too slow to revoke: the client's own poll timer drops everything; the coordinator removes it.
      const m = group.member(c.memberId);
      if (m?.state === 'unrevoked') {
        dropAll(c);
        expect(group.expireRevocation(c.memberId, ctx)).to.equal(true);
      }
    } else if (roll < 92) {
      // A static member restarts: leaves for now (-2), comes back with a new member id.
      if (c.instanceId !== '' && c.epoch > 0) {
        c.consuming.clear();
        group.heartbeat({ groupId: 'g', memberId: c.memberId, memberEpoch: -2, instanceId: c.instanceId, clientId: c.name, rebalanceTimeoutMs: 0, sessionTimeoutMs: 0, assignor: '' }, ctx);
        dropAll(c);
        c.memberId = `${c.name}-m${step}`;
      }
    } else if (roll < 96) {
      c.subscriptions = pickSubscriptions();
      c.sendSubscriptions = true;
    } else if (roll < 98) {
      const t = TOPICS[random.int(TOPICS.length)] ?? 't';
      if ((counts.get(t) ?? 0) < 12) counts.set(t, (counts.get(t) ?? 0) + 1);
      group.refreshTopics(ctx);
    } else {
      group.heartbeat({ groupId: 'g', memberId: c.memberId, memberEpoch: c.epoch, instanceId: c.instanceId, clientId: c.name, rebalanceTimeoutMs: 0, sessionTimeoutMs: 0, assignor: random.int(2) === 0 ? 'range' : 'uniform' }, ctx);
    }
    check(step);
  }

  // Faults stop: silent members' sessions expire, everyone heartbeats and reconciles; the group converges.
  for (const id of silentMembers()) group.expire(id, ctx);
  for (let round = 0; round < 30 && !(group.state() === 'stable' || group.state() === 'empty'); round++) {
    for (const c of clients) {
      heartbeat(c, false);
      reconcile(c);
      check(steps + round);
    }
  }
  expect(group.state(), `${where(steps)}: ${JSON.stringify(group.describe())}`).to.be.oneOf(['stable', 'empty']);
  for (const c of clients) heartbeat(c, false);
  // Every partition of a subscribed topic is consumed by exactly one client that subscribes to it.
  const subscribed = new Set(clients.flatMap((c) => c.subscriptions));
  const all = [...subscribed].flatMap((t) => Array.from({ length: counts.get(t) ?? 0 }, (_, p) => partitionKey(t, p)));
  const consumed = clients.flatMap((c) => [...c.consuming]);
  expect(consumed.sort(), where(steps)).to.deep.equal(all.sort());
  for (const m of group.members()) expect([...pairs(m.assigned)].length).to.equal([...pairs(group.target(m.memberId))].length);
}

describe('groups: reconciliation under random sequences (property)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}: no partition consumed twice; converges once faults stop`, () => runSeed(seed, 400));
  }
});
