/**
 * Server-side assignors (KIP-848): the coordinator computes every member's target assignment from
 * the members' subscriptions and the partition counts of the subscribed topics. An assignor is a pure,
 * deterministic function of its input (no randomness, no time; members are handed over sorted by id),
 * so the same group state always yields the same target — on every broker, and in the simulator.
 *
 * Contract of every assignor:
 * - each partition of a topic that at least one member subscribes to goes to exactly one member that
 *   subscribes to its topic; topics nobody subscribes to, or that do not exist, are not assigned;
 * - every member gets an entry in the result (possibly empty).
 */
import type { Assignment } from './assignment.js';

export interface AssignorMember {
  readonly memberId: string;
  /** '' for dynamic members. */
  readonly instanceId: string;
  readonly subscribedTopics: readonly string[];
}

export interface AssignorInput {
  /** Sorted by memberId. */
  readonly members: readonly AssignorMember[];
  /** Partition count of every existing subscribed topic. */
  readonly topics: ReadonlyMap<string, number>;
  /** The current target assignment (what stickiness keeps). */
  readonly previous: ReadonlyMap<string, Assignment>;
}

export interface Assignor {
  readonly name: AssignorName;
  assign(input: AssignorInput): Map<string, Assignment>;
}

export const ASSIGNOR_NAMES = ['uniform', 'range'] as const;
export type AssignorName = (typeof ASSIGNOR_NAMES)[number];
export const DEFAULT_ASSIGNOR: AssignorName = 'uniform';

export function isAssignorName(name: string): name is AssignorName {
  return (ASSIGNOR_NAMES as readonly string[]).includes(name);
}
