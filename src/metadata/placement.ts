/**
 * Replica placement for CreateTopics and CreatePartitions, after Kafka's
 * `AdminUtils.assignReplicasToBrokers` (rack-unaware and rack-aware).
 *
 * Rack-unaware: brokers sorted by id; partition p's preferred leader is broker
 * `(p + startIndex) % n`, and its followers sit at increasing offsets from the leader, offset by a
 * shift that grows by one every n partitions. `startIndex` and the initial shift are random, so
 * topics do not all pile their leaders onto the lowest broker ids. Preferred leaderships differ by
 * at most one between brokers; when partitions 0..k*n-1 are placed, every broker gets exactly k
 * leaderships and k*RF replicas.
 *
 * Rack-aware (every broker has a rack): the same walk over a rack-alternated broker list (racks
 * sorted, one broker from each rack in turn), skipping a candidate whose rack already holds a replica
 * while some rack holds none, and a broker already chosen. Each partition's replicas span
 * min(RF, racks) racks. With equally sized racks, leaders and replicas balance as above.
 *
 * CreatePartitions (`existing`): the start index is recovered from partition 0's leader and the
 * shift from the existing lists, so new partitions continue the rotation. Rack skipping can make
 * several shifts fit the same existing lists; then the first fitting shift is used (followers may
 * differ from what a one-shot placement would have chosen, but all guarantees above still hold).
 *
 * Invariants of every successful result: one list per partition, each of exactly RF distinct broker
 * ids drawn from the input; the first id is the preferred leader.
 *
 * I/O contract: pure. All randomness comes from the `Random` handed in (at most two draws); the same
 * inputs and the same generator state give the same result. Client-input problems (bad RF or
 * partition count, mixed rack information) are returned as values; broker lists that violate the
 * metadata image's own invariants (duplicate or invalid ids) are programmer errors and assert.
 */
import { assert } from '../util/assert.js';
import type { Random } from '../util/random.js';

export interface PlacementBroker {
  readonly id: number;
  readonly rack?: string;
}

export interface PlacementRequest {
  /** The brokers eligible for replicas (normally: registered and unfenced). Any order. */
  readonly brokers: readonly PlacementBroker[];
  /** How many partitions to place (new partitions, for CreatePartitions). */
  readonly partitions: number;
  readonly replicationFactor: number;
  /** The id of the first partition to place; defaults to `existing.length`, or 0. */
  readonly firstPartition?: number;
  readonly random: Random;
  /**
   * The topic's current assignment (partition i's replicas at index i), for CreatePartitions. When
   * it matches what this placer would produce for some start index and shift, new partitions
   * continue that exact pattern; otherwise they start at the broker holding partition 0's leadership
   * (as Kafka does) with a random shift.
   */
  readonly existing?: readonly (readonly number[])[];
}

export const PlacementErrorCode = {
  invalidReplicationFactor: 'INVALID_REPLICATION_FACTOR',
  invalidPartitions: 'INVALID_PARTITIONS',
  invalidReplicaAssignment: 'INVALID_REPLICA_ASSIGNMENT',
} as const;
export type PlacementErrorCode = (typeof PlacementErrorCode)[keyof typeof PlacementErrorCode];

export type PlacementResult =
  | {
      readonly ok: true;
      /** `assignments[i]` is the replica list of partition `firstPartition + i`; preferred leader first. The caller owns the arrays. */
      readonly assignments: number[][];
    }
  | { readonly ok: false; readonly code: PlacementErrorCode; readonly message: string };

/** The most partitions one call places: a bound on the work and memory one request can demand. */
export const PLACEMENT_PARTITIONS_MAX = 100_000;
/** Partition ids are int32 on the wire. */
const PARTITION_ID_MAX = 2 ** 31 - 1;

function fail(code: PlacementErrorCode, message: string): PlacementResult {
  return { ok: false, code, message };
}

/** A broker arrangement plus the rule that picks a partition's replicas from it. */
interface Layout {
  /** Broker ids in walk order. */
  readonly order: readonly number[];
  /** Rack per broker id, or undefined when rack-unaware. */
  readonly rackOf: ReadonlyMap<number, string> | undefined;
  readonly rackCount: number;
}

/** Kafka's replicaIndex: the j-th follower candidate of the leader at `first`, for a given shift. */
function followerIndex(first: number, shift: number, j: number, n: number): number {
  return (first + 1 + ((shift + j) % (n - 1))) % n;
}

/** The replicas of partition `partition` under `startIndex` and `initialShift`. */
function assignOne(
  layout: Layout,
  partition: number,
  startIndex: number,
  initialShift: number,
  replicationFactor: number,
): number[] {
  const { order, rackOf, rackCount } = layout;
  const n = order.length;
  // Kafka bumps the shift at every multiple of n after 0: floor(p / n) bumps by partition p.
  const shift = initialShift + Math.floor(partition / n);
  const first = (partition + startIndex) % n;
  const leader = order[first];
  assert(leader !== undefined, 'leader index in range');
  const replicas = [leader];
  if (rackOf === undefined) {
    for (let j = 0; j < replicationFactor - 1; j++) {
      const broker = order[followerIndex(first, shift, j, n)];
      assert(broker !== undefined, 'follower index in range');
      replicas.push(broker);
    }
    return replicas;
  }

  const racksUsed = new Set<string>([rackOf.get(leader) ?? '']);
  const brokersUsed = new Set<number>([leader]);
  let k = 0;
  const stepsMax = n * replicationFactor + n;
  while (replicas.length < replicationFactor) {
    assert(k < stepsMax, 'rack-aware placement must find a broker within n steps per replica');
    const broker = order[followerIndex(first, shift * rackCount, k, n)];
    assert(broker !== undefined, 'follower index in range');
    const rack = rackOf.get(broker);
    assert(rack !== undefined, 'every broker has a rack in rack-aware mode');
    k++;
    // Skip a rack that already has a replica while some rack has none, and a broker already used
    // while some broker is unused (Kafka's rule).
    if (racksUsed.has(rack) && racksUsed.size < rackCount) continue;
    if (brokersUsed.has(broker) && brokersUsed.size < n) continue;
    replicas.push(broker);
    racksUsed.add(rack);
    brokersUsed.add(broker);
  }
  return replicas;
}

/** Racks sorted; brokers within a rack sorted by id; then one broker from each rack in turn. */
function rackAlternated(brokers: readonly PlacementBroker[]): { order: number[]; rackOf: Map<number, string>; rackCount: number } {
  const byRack = new Map<string, number[]>();
  const rackOf = new Map<number, string>();
  for (const broker of brokers) {
    const rack = broker.rack;
    assert(rack !== undefined, 'rack-aware placement needs a rack on every broker');
    rackOf.set(broker.id, rack);
    const list = byRack.get(rack);
    if (list === undefined) byRack.set(rack, [broker.id]);
    else list.push(broker.id);
  }
  const racks = [...byRack.keys()].sort();
  const queues = racks.map((rack) => (byRack.get(rack) ?? []).sort((a, b) => a - b));
  const order: number[] = [];
  for (let round = 0; order.length < brokers.length; round++) {
    for (const queue of queues) {
      const id = queue[round];
      if (id !== undefined) order.push(id);
    }
  }
  return { order, rackOf, rackCount: racks.length };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Finds the (startIndex, shift) that reproduce `existing` exactly under `layout`, if any. The start
 * index is fixed by partition 0's leader; the shift matters only modulo n - 1, so at most n - 1
 * candidates are tried.
 */
function recoverPattern(
  layout: Layout,
  existing: readonly (readonly number[])[],
): { startIndex: number; shift: number } | undefined {
  const n = layout.order.length;
  const partition0 = existing[0];
  if (partition0 === undefined || partition0.length === 0) return undefined;
  const startIndex = layout.order.indexOf(partition0[0] ?? -1);
  if (startIndex < 0) return undefined;
  const rf = partition0.length;
  if (rf > n) return undefined;
  const shifts = n > 1 ? n - 1 : 1;
  for (let shift = 0; shift < shifts; shift++) {
    const reproduces = existing.every(
      (replicas, p) => replicas.length === rf && sameList(assignOne(layout, p, startIndex, shift, rf), replicas),
    );
    if (reproduces) return { startIndex, shift };
  }
  return undefined;
}

/**
 * Places `partitions` partitions of `replicationFactor` replicas each over `brokers`. See the header
 * for the algorithm and the guarantees. Errors: INVALID_REPLICATION_FACTOR (RF < 1 or more than the
 * brokers), INVALID_PARTITIONS (count < 1, above PLACEMENT_PARTITIONS_MAX, ids beyond int32, or
 * `firstPartition` disagreeing with `existing`), INVALID_REPLICA_ASSIGNMENT (some brokers have a rack
 * and some do not: Kafka requires all or none).
 */
export function placeReplicas(request: PlacementRequest): PlacementResult {
  const { brokers, partitions, replicationFactor, random, existing } = request;

  const ids = new Set<number>();
  for (const broker of brokers) {
    assert(Number.isSafeInteger(broker.id) && broker.id >= 0, `broker id must be a non-negative integer, got ${broker.id}`);
    assert(!ids.has(broker.id), `broker ${broker.id} listed twice`);
    ids.add(broker.id);
  }

  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1) {
    return fail('INVALID_REPLICATION_FACTOR', `Replication factor must be a positive integer, got ${replicationFactor}`);
  }
  if (replicationFactor > brokers.length) {
    return fail(
      'INVALID_REPLICATION_FACTOR',
      `Replication factor ${replicationFactor} is larger than the number of available brokers (${brokers.length})`,
    );
  }
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    return fail('INVALID_PARTITIONS', `Number of partitions must be a positive integer, got ${partitions}`);
  }
  if (partitions > PLACEMENT_PARTITIONS_MAX) {
    return fail(
      'INVALID_PARTITIONS',
      `Number of partitions ${partitions} exceeds the limit of ${PLACEMENT_PARTITIONS_MAX} per request`,
    );
  }
  const firstPartition = request.firstPartition ?? existing?.length ?? 0;
  if (!Number.isSafeInteger(firstPartition) || firstPartition < 0) {
    return fail('INVALID_PARTITIONS', `First partition must be a non-negative integer, got ${firstPartition}`);
  }
  if (existing !== undefined && firstPartition !== existing.length) {
    return fail(
      'INVALID_PARTITIONS',
      `First partition ${firstPartition} does not follow the ${existing.length} existing partitions`,
    );
  }
  if (firstPartition + partitions - 1 > PARTITION_ID_MAX) {
    return fail('INVALID_PARTITIONS', `Partition ids would exceed ${PARTITION_ID_MAX}`);
  }

  const racked = brokers.filter((broker) => broker.rack !== undefined).length;
  if (racked !== 0 && racked !== brokers.length) {
    const missing = brokers
      .filter((broker) => broker.rack === undefined)
      .map((broker) => broker.id)
      .sort((a, b) => a - b);
    return fail(
      'INVALID_REPLICA_ASSIGNMENT',
      `Not all brokers have rack information (brokers without a rack: ${missing.join(', ')}); ` +
        'rack-aware placement needs a rack on every broker or on none',
    );
  }

  const layout: Layout =
    racked === 0
      ? { order: [...ids].sort((a, b) => a - b), rackOf: undefined, rackCount: 0 }
      : rackAlternated(brokers);
  const n = layout.order.length;

  let startIndex: number;
  let shift: number;
  const recovered = existing !== undefined && existing.length > 0 ? recoverPattern(layout, existing) : undefined;
  if (recovered !== undefined) {
    ({ startIndex, shift } = recovered);
  } else if (existing !== undefined && existing.length > 0) {
    // The broker set or the assignment changed since creation: start where partition 0's leader (or
    // the next broker in walk order) stands, as Kafka's addPartitions does, with a fresh shift.
    const leader0 = existing[0]?.[0] ?? -1;
    const at = layout.order.indexOf(leader0);
    startIndex = at >= 0 ? at : Math.max(0, layout.order.findIndex((id) => id >= leader0));
    shift = random.int(n);
  } else {
    startIndex = random.int(n);
    shift = random.int(n);
  }

  const assignments: number[][] = [];
  for (let i = 0; i < partitions; i++) {
    const replicas = assignOne(layout, firstPartition + i, startIndex, shift, replicationFactor);
    assert(new Set(replicas).size === replicationFactor, 'replicas of a partition are distinct');
    assignments.push(replicas);
  }
  return { ok: true, assignments };
}
