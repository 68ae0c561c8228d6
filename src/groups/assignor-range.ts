/**
 * The `range` assignor (Kafka's RangeAssignor, server-side): per topic, its subscribers in a fixed
 * order each get one contiguous range of partitions; the first `partitions % subscribers` get one
 * more. Members are ordered by instance id when static (so a restarted static member gets its old
 * range back), else by member id — static members first. Because every topic is cut the same way,
 * members subscribed to the same co-partitioned topics get the same partition numbers of each
 * (what joins over co-partitioned topics need). Not sticky beyond that: a member joining shifts ranges.
 */
import { fromPairs, type Assignment } from './assignment.js';
import type { Assignor, AssignorInput, AssignorMember } from './assignor.js';

function orderKey(m: AssignorMember): string {
  return m.instanceId !== '' ? `0${m.instanceId}` : `1${m.memberId}`;
}

export const rangeAssignor: Assignor = {
  name: 'range',
  assign(input: AssignorInput): Map<string, Assignment> {
    const owned = new Map<string, Array<{ topic: string; partition: number }>>(input.members.map((m) => [m.memberId, []]));
    for (const [topic, count] of [...input.topics].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const subscribers = input.members.filter((m) => m.subscribedTopics.includes(topic)).sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : orderKey(a) > orderKey(b) ? 1 : 0));
      if (subscribers.length === 0) continue;
      const quota = Math.floor(count / subscribers.length);
      const extra = count % subscribers.length;
      subscribers.forEach((m, i) => {
        const start = i * quota + Math.min(i, extra);
        const length = quota + (i < extra ? 1 : 0);
        const list = owned.get(m.memberId);
        for (let p = start; p < start + length; p++) list?.push({ topic, partition: p });
      });
    }
    return new Map([...owned].map(([id, list]) => [id, fromPairs(list)]));
  },
};
