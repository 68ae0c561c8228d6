/**
 * Retries with exponential backoff and jitter (KafkaJS's retrier, with the clock and the randomness
 * injected instead of hard-wired `setTimeout` / `Math.random`).
 *
 * The n-th retry (n = 0, 1, ...) waits `min(maxRetryTimeMs, initialRetryTimeMs * multiplier^n)`
 * scaled by a random factor in [1 - factor, 1 + factor], rounded to whole ms. Only errors whose
 * `retriable` flag is true are retried, at most `retries` times; the last error is rethrown as a
 * SkeinError. Client code is not under the determinism rule (DESIGN.md §2), but tests and the
 * simulator can still pass a virtual Clock and a seeded Random.
 */
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { InvalidArgumentError, toSkeinError, type SkeinError } from './errors.js';

export interface RetryOptions {
  /** How many times to retry after the first attempt; default 5. */
  readonly retries?: number;
  /** The first backoff, in ms; default 100. */
  readonly initialRetryTimeMs?: number;
  /** The longest backoff, in ms; default 30000. */
  readonly maxRetryTimeMs?: number;
  /** Growth per retry; default 2. */
  readonly multiplier?: number;
  /** Jitter: each backoff is scaled by a random factor in [1 - factor, 1 + factor]; default 0.2. */
  readonly factor?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetryOptions = { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 30_000, multiplier: 2, factor: 0.2 };

/** Real timers, for clients that inject no Clock (works in Node.js and browsers). */
export const realClientClock: Clock = {
  nowMs: () => Date.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, delayMs);
    return () => clearTimeout(handle);
  },
};

/** Math.random, for clients that inject no Random. */
export const mathRandom: Random = {
  float: () => Math.random(),
  int: (maxExclusive) => Math.floor(Math.random() * maxExclusive),
};

/** Defaults filled in and checked (InvalidArgumentError on a negative or non-finite value). */
export function resolveRetryOptions(options: RetryOptions | undefined): ResolvedRetryOptions {
  const r = { ...DEFAULT_RETRY, ...options };
  const check = (name: keyof RetryOptions, ok: boolean): void => {
    if (!ok) throw new InvalidArgumentError(`retry.${name} is out of range: ${String(r[name])}`);
  };
  check('retries', Number.isSafeInteger(r.retries) && r.retries >= 0);
  check('initialRetryTimeMs', Number.isFinite(r.initialRetryTimeMs) && r.initialRetryTimeMs >= 0);
  check('maxRetryTimeMs', Number.isFinite(r.maxRetryTimeMs) && r.maxRetryTimeMs >= 0);
  check('multiplier', Number.isFinite(r.multiplier) && r.multiplier >= 1);
  check('factor', Number.isFinite(r.factor) && r.factor >= 0 && r.factor <= 1);
  return r;
}

/** The backoff before retry number `attempt` (0-based), in ms, jittered with `random`. */
export function backoffMs(options: ResolvedRetryOptions, attempt: number, random: Random): number {
  const base = Math.min(options.maxRetryTimeMs, options.initialRetryTimeMs * options.multiplier ** attempt);
  const jitter = 1 - options.factor + 2 * options.factor * random.float();
  return Math.max(0, Math.round(Math.min(options.maxRetryTimeMs, base * jitter)));
}

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(ms, resolve);
  });
}

export interface RetrierDeps {
  readonly clock: Clock;
  readonly random: Random;
}

/** What `withRetry` tells the operation about the attempt it runs. */
export interface AttemptInfo {
  /** 0 for the first attempt. */
  readonly attempt: number;
  /** The previous attempt's error, if any. */
  readonly lastError: SkeinError | undefined;
}

/**
 * Runs `operation` until it resolves, a non-retriable error, or `retries` retries are used up; waits
 * `backoffMs` between attempts. `onRetriable` runs before each backoff (e.g. to refresh metadata).
 * Rejects with the last error as a SkeinError.
 */
export async function withRetry<T>(
  deps: RetrierDeps,
  options: ResolvedRetryOptions,
  operation: (info: AttemptInfo) => Promise<T>,
  onRetriable?: (error: SkeinError, attempt: number) => void | Promise<void>,
): Promise<T> {
  let lastError: SkeinError | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation({ attempt, lastError });
    } catch (e) {
      const error = toSkeinError(e);
      if (!error.retriable || attempt >= options.retries) throw error;
      lastError = error;
      await onRetriable?.(error, attempt);
      await sleep(deps.clock, backoffMs(options, attempt, deps.random));
    }
  }
}
