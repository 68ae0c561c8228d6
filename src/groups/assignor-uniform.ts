/**
 * The `uniform` assignor (the default; KIP-848's server-side successor of round-robin and
 * cooperative-sticky): balanced and sticky.
 *
 * 1. Sticky: every partition stays with its previous target owner if that member is still in the
 *    group, still subscribes to the topic, and the partition still exists.
 * 2. Unassigned partitions (new topics, new partitions, departed members') go one by one, in topic and
 *    partition order, to the least loaded subscriber (ties: the smaller member id).
 * 3. Balance: while some member holds at least two partitions more than another subscriber of one of
 *    its topics, one such partition moves from the most loaded member to the least loaded eligible
 *    one. Each move lowers the sum of squared loads, so this ends; with identical subscriptions it ends
 *    with every member at ⌊P/M⌋ or ⌈P/M⌉ partitions, moving no more partitions than needed for it.
 *    With different subscriptions the result is balanced as far as single moves can make it.
 *
 * Deterministic: members are visited by id, partitions by topic and number.
 */
import { fromPairs, partitionKey, type Assignment } from './assignment.js';
import type { Assignor, AssignorInput } from './assignor.js';

interface Slot {
  readonly topic: string;
  readonly partition: number;
}

export const uniformAssignor: Assignor = {
  name: 'uniform',
  assign(input: AssignorInput): Map<string, Assignment> {
    const subscribes = new Map(input.members.map((m) => [m.memberId, new Set(m.subscribedTopics)]));
    const owned = new Map<string, Slot[]>(input.members.map((m) => [m.memberId, []]));
    const taken = new Set<string>();
    const exists = (topic: string, partition: number): boolean => partition < (input.topics.get(topic) ?? 0);

    // 1. Keep what each member had, where still valid.
    for (const m of input.members) {
      const previous = input.previous.get(m.memberId);
      if (previous === undefined) continue;
      const list = owned.get(m.memberId) ?? [];
      for (const [topic, partitions] of previous) {
        if (subscribes.get(m.memberId)?.has(topic) !== true) continue;
        for (const partition of partitions) {
          const k = partitionKey(topic, partition);
          if (!exists(topic, partition) || taken.has(k)) continue;
          taken.add(k);
          list.push({ topic, partition });
        }
      }
    }

    const eligible = (topic: string): string[] => input.members.filter((m) => subscribes.get(m.memberId)?.has(topic) === true).map((m) => m.memberId);
    const load = (id: string): number => owned.get(id)?.length ?? 0;
    const leastLoaded = (ids: readonly string[]): string | undefined => {
      let best: string | undefined;
      for (const id of ids) if (best === undefined || load(id) < load(best)) best = id;
      return best;
    };

    // 2. Place every unassigned partition.
    const topics = [...input.topics.keys()].sort();
    const subscribers = new Map(topics.map((t) => [t, eligible(t)]));
    for (const topic of topics) {
      const ids = subscribers.get(topic) ?? [];
      if (ids.length === 0) continue;
      for (let partition = 0; partition < (input.topics.get(topic) ?? 0); partition++) {
        if (taken.has(partitionKey(topic, partition))) continue;
        const to = leastLoaded(ids);
        if (to === undefined) continue;
        taken.add(partitionKey(topic, partition));
        owned.get(to)?.push({ topic, partition });
      }
    }

    // 3. Balance by single moves from the most loaded members.
    const moveBound = [...input.topics.values()].reduce((a, b) => a + b, 0) * Math.max(1, input.members.length);
    for (let moves = 0; moves < moveBound; moves++) {
      if (!moveOne(input.members.map((m) => m.memberId), owned, subscribers, load)) break;
    }

    return new Map([...owned].map(([id, list]) => [id, fromPairs(list)]));
  },
};

/** One balancing move, from the most loaded member that can give; false when none helps. */
function moveOne(ids: readonly string[], owned: Map<string, Slot[]>, subscribers: ReadonlyMap<string, readonly string[]>, load: (id: string) => number): boolean {
  const byLoad = [...ids].sort((a, b) => load(b) - load(a) || (a < b ? -1 : a > b ? 1 : 0));
  for (const from of byLoad) {
    const list = owned.get(from) ?? [];
    // The last-placed partitions move first: they are the ones most recently given to this member.
    for (let i = list.length - 1; i >= 0; i--) {
      const slot = list[i];
      if (slot === undefined) continue;
      let to: string | undefined;
      for (const id of subscribers.get(slot.topic) ?? []) {
        if (id !== from && load(id) <= load(from) - 2 && (to === undefined || load(id) < load(to))) to = id;
      }
      if (to === undefined) continue;
      list.splice(i, 1);
      owned.get(to)?.push(slot);
      return true;
    }
  }
  return false;
}
