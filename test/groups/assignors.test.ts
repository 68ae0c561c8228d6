/**
 * The server-side assignors (KIP-848): every partition of a subscribed topic goes to exactly one
 * subscriber; `uniform` is balanced (within one partition for identical subscriptions) and sticky
 * (a join or leave moves only the partitions that must move); `range` cuts each topic into contiguous
 * ranges, the same cut for co-partitioned topics, with static members ordered by instance id.
 */
import { expect } from 'chai';
import { EMPTY, fromPairs, pairs, partitionKey, size, type Assignment } from '../../src/groups/assignment.js';
import type { AssignorInput, AssignorMember } from '../../src/groups/assignor.js';
import { rangeAssignor } from '../../src/groups/assignor-range.js';
import { uniformAssignor } from '../../src/groups/assignor-uniform.js';
import { SeededRandom } from '../../src/util/random.js';

function members(n: number, topics: readonly string[], prefix = 'm'): AssignorMember[] {
  return Array.from({ length: n }, (_, i) => ({ memberId: `${prefix}${String(i).padStart(3, '0')}`, instanceId: '', subscribedTopics: topics }));
}

function input(ms: readonly AssignorMember[], topics: Record<string, number>, previous: ReadonlyMap<string, Assignment> = new Map()): AssignorInput {
  return { members: [...ms].sort((a, b) => (a.memberId < b.memberId ? -1 : 1)), topics: new Map(Object.entries(topics)), previous };
}

/** Every partition of every topic assigned exactly once, to a member subscribed to its topic. */
function expectComplete(result: Map<string, Assignment>, inp: AssignorInput): void {
  const owner = new Map<string, string>();
  for (const m of inp.members) {
    const a = result.get(m.memberId);
    expect(a, `an entry for ${m.memberId}`).to.not.equal(undefined);
    for (const { topic, partition } of pairs(a ?? EMPTY)) {
      const k = partitionKey(topic, partition);
      expect(owner.has(k), `${k} assigned twice`).to.equal(false);
      expect(m.subscribedTopics).to.include(topic);
      owner.set(k, m.memberId);
    }
  }
  for (const [topic, count] of inp.topics) {
    if (!inp.members.some((m) => m.subscribedTopics.includes(topic))) continue;
    for (let p = 0; p < count; p++) expect(owner.has(partitionKey(topic, p)), `${topic}-${p} unassigned`).to.equal(true);
  }
}

function loads(result: Map<string, Assignment>): number[] {
  return [...result.values()].map(size);
}

function moved(before: Map<string, Assignment>, after: Map<string, Assignment>): number {
  const ownerBefore = new Map<string, string>();
  for (const [id, a] of before) for (const { topic, partition } of pairs(a)) ownerBefore.set(partitionKey(topic, partition), id);
  // A partition moved if its previous owner is still there and no longer has it.
  let n = 0;
  for (const [id, a] of after) {
    for (const { topic, partition } of pairs(a)) {
      const was = ownerBefore.get(partitionKey(topic, partition));
      if (was !== undefined && was !== id && after.has(was)) n++;
    }
  }
  return n;
}

describe('assignor: uniform', () => {
  it('balances identical subscriptions within one partition, for many shapes', () => {
    const random = new SeededRandom(7);
    for (let round = 0; round < 200; round++) {
      const n = 1 + random.int(12);
      const topics: Record<string, number> = {};
      for (let t = 0; t < 1 + random.int(4); t++) topics[`t${t}`] = random.int(20);
      const inp = input(members(n, Object.keys(topics)), topics);
      const result = uniformAssignor.assign(inp);
      expectComplete(result, inp);
      const l = loads(result);
      expect(Math.max(...l) - Math.min(...l), JSON.stringify({ n, topics, l })).to.be.at.most(1);
    }
  });

  it('is sticky: a new member takes only its share, and no partition moves between the others', () => {
    const topics = { a: 12, b: 7 };
    const first = input(members(3, ['a', 'b']), topics);
    const before = uniformAssignor.assign(first);
    const grown = input([...members(3, ['a', 'b']), { memberId: 'new', instanceId: '', subscribedTopics: ['a', 'b'] }], topics, before);
    const after = uniformAssignor.assign(grown);
    expectComplete(after, grown);
    const share = size(after.get('new') ?? EMPTY);
    expect(share).to.be.within(4, 5); // 19 partitions over 4 members
    expect(moved(before, after)).to.equal(share);
  });

  it('is sticky: a departed member\'s partitions spread, the rest stay', () => {
    const topics = { a: 10 };
    const four = members(4, ['a']);
    const before = uniformAssignor.assign(input(four, topics));
    const leaving = four[1]?.memberId ?? '';
    const rest = four.filter((m) => m.memberId !== leaving);
    const after = uniformAssignor.assign(input(rest, topics, before));
    expectComplete(after, input(rest, topics));
    expect(moved(before, after)).to.equal(0); // only the leaver's partitions found new owners
    const l = loads(after);
    expect(Math.max(...l) - Math.min(...l)).to.be.at.most(1);
  });

  it('gives new partitions of a topic to the least loaded, keeping the old ones', () => {
    const ms = members(2, ['a']);
    const before = uniformAssignor.assign(input(ms, { a: 4 }));
    const after = uniformAssignor.assign(input(ms, { a: 6 }, before));
    expect(moved(before, after)).to.equal(0);
    expect(loads(after)).to.deep.equal([3, 3]);
  });

  it('respects different subscriptions and drops topics that are gone', () => {
    const ms: AssignorMember[] = [
      { memberId: 'x', instanceId: '', subscribedTopics: ['a'] },
      { memberId: 'y', instanceId: '', subscribedTopics: ['a', 'b'] },
      { memberId: 'z', instanceId: '', subscribedTopics: ['b', 'gone'] },
    ];
    const inp = input(ms, { a: 4, b: 4 });
    const result = uniformAssignor.assign(inp);
    expectComplete(result, inp);
    const l = loads(result);
    expect(Math.max(...l) - Math.min(...l)).to.be.at.most(1);
    expect([...(result.get('z') ?? EMPTY).keys()]).to.not.include('gone');
  });

  it('is deterministic', () => {
    const inp = input(members(5, ['a', 'b']), { a: 13, b: 3 });
    expect([...uniformAssignor.assign(inp)]).to.deep.equal([...uniformAssignor.assign(inp)]);
  });
});

describe('assignor: range', () => {
  it('cuts each topic into contiguous ranges, the first members one larger', () => {
    const inp = input(members(3, ['a']), { a: 8 });
    const result = rangeAssignor.assign(inp);
    expectComplete(result, inp);
    expect([...result.values()].map((a) => a.get('a'))).to.deep.equal([[0, 1, 2], [3, 4, 5], [6, 7]]);
  });

  it('gives each member the same partition numbers of co-partitioned topics', () => {
    const inp = input(members(3, ['clicks', 'views']), { clicks: 6, views: 6 });
    const result = rangeAssignor.assign(inp);
    expectComplete(result, inp);
    for (const a of result.values()) expect(a.get('clicks')).to.deep.equal(a.get('views'));
  });

  it('orders static members by instance id, so a restarted one gets its range back', () => {
    const a: AssignorMember = { memberId: 'zzz', instanceId: 'host-1', subscribedTopics: ['t'] };
    const b: AssignorMember = { memberId: 'aaa', instanceId: 'host-2', subscribedTopics: ['t'] };
    const first = rangeAssignor.assign(input([a, b], { t: 4 }));
    expect(first.get('zzz')?.get('t')).to.deep.equal([0, 1]);
    const restarted = rangeAssignor.assign(input([{ ...a, memberId: 'new-id' }, b], { t: 4 }));
    expect(restarted.get('new-id')?.get('t')).to.deep.equal([0, 1]);
  });

  it('leaves members without subscribed topics empty', () => {
    const inp = input([...members(1, ['a']), { memberId: 'idle', instanceId: '', subscribedTopics: [] }], { a: 2 });
    const result = rangeAssignor.assign(inp);
    expect(result.get('idle')).to.deep.equal(fromPairs([]));
    expectComplete(result, inp);
  });
});
