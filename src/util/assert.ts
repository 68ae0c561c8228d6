/**
 * Programmer-error assertions. A failed assertion means the code is wrong, not the input: it crashes
 * the node (and, in the simulator, fails the seed with the message). Expected conditions — stale
 * terms, bad client input — are values or protocol errors, never assertions.
 */

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Asserts that `value` is a safe integer >= 0 (offsets, indexes, terms, ids). */
export function assertNonNegativeInteger(value: number, what: string): void {
  assert(Number.isSafeInteger(value) && value >= 0, `${what} must be a non-negative safe integer, got ${value}`);
}
