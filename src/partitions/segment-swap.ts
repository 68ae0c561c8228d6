/**
 * The on-disk protocol by which a compacted segment replaces the sealed segments it was made from,
 * atomically with respect to crashes and power loss (after Kafka's `.cleaned` / `.swap` files), and
 * the cleaner checkpoint of a compacted log. segment-log.ts drives it; this file names the files and
 * finishes an interrupted swap at recovery.
 *
 * A swap of the sealed segments with base offsets in [base, end) (consecutive, the segment at `end`
 * exists and is untouched) goes:
 *   1. write `<base>.<end>.cleaned` (20-digit offsets), fsync it;
 *   2. rename it to `<base>.<end>.swap` — the commit point (the rename is durable when it resolves);
 *   3. delete the old segments' index files and the old `.log` files other than `<base>.log`;
 *   4. rename `<base>.<end>.swap` over `<base>.log` (atomic replace);
 *   5. write `<base>.index` / `<base>.timeindex` for the new segment.
 * Recovery (`finishInterruptedSwaps`, before the segments are opened): a `.cleaned` file is deleted (no
 * commit: the old segments are all there); a `.swap` file means the commit happened: every segment file
 * with a base offset in [base, end) is deleted except `<base>.log`, and the swap is renamed over it.
 * Each recovery step is idempotent, so a crash during recovery is recovered the same way. After any
 * crash the log therefore holds either the old segments or the new one, never a mix; step 5's index
 * files are rebuilt by the ordinary recovery scan if missing.
 *
 * The cleaner checkpoint (`cleaner-offset-checkpoint`, written atomically): the first offset the cleaner
 * has not yet compacted (Kafka's per-partition entry of its `cleaner-offset-checkpoint`). Its presence
 * also marks the log as compacted — one whose batches may have offset gaps and empty batches — which
 * the segment log must know before it reads, recovers or appends such batches; it is written before
 * the first gap can exist and never deleted while the log exists.
 */
import { assert } from '../util/assert.js';
import type { Logger } from '../util/log.js';
import type { LogDirectory } from './log-fs.js';

export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
export const CLEANER_CHECKPOINT = 'cleaner-offset-checkpoint';

const OFFSET_DIGITS = 20;
const SWAP_NAME = /^(\d{20})\.(\d{20})\.(cleaned|swap)$/;
const CHECKPOINT = /^0\n(\d{1,16})\n$/;

function digits(offset: number): string {
  return String(offset).padStart(OFFSET_DIGITS, '0');
}

/** `<base>.<end>.cleaned`: the compacted replacement of segments [base, end) while it is written. */
export function cleanedFileName(baseOffset: number, endOffset: number): string {
  return `${digits(baseOffset)}.${digits(endOffset)}${CLEANED_SUFFIX}`;
}

/** `<base>.<end>.swap`: the committed replacement of segments [base, end), not yet in place. */
export function swapFileName(baseOffset: number, endOffset: number): string {
  return `${digits(baseOffset)}.${digits(endOffset)}${SWAP_SUFFIX}`;
}

export interface SwapFile {
  readonly name: string;
  readonly baseOffset: number;
  readonly endOffset: number;
  readonly stage: 'cleaned' | 'swap';
}

export function parseSwapFileName(name: string): SwapFile | undefined {
  const match = SWAP_NAME.exec(name);
  if (match === null) return undefined;
  const baseOffset = Number(match[1]);
  const endOffset = Number(match[2]);
  if (!Number.isSafeInteger(baseOffset) || !Number.isSafeInteger(endOffset) || endOffset <= baseOffset) return undefined;
  return { name, baseOffset, endOffset, stage: match[3] as 'cleaned' | 'swap' };
}

export function encodeCleanerCheckpoint(firstDirtyOffset: number): Uint8Array {
  return new TextEncoder().encode(`0\n${firstDirtyOffset}\n`);
}

/** The first dirty offset, or undefined if the bytes are not a checkpoint (bit rot: start over). */
export function decodeCleanerCheckpoint(bytes: Uint8Array): number | undefined {
  const match = CHECKPOINT.exec(new TextDecoder().decode(bytes));
  return match === null ? undefined : Number(match[1]);
}

/**
 * Finishes or rolls back every swap a crash interrupted (see the module header), given the
 * directory's file names and how to read a segment file's base offset from its name. Resolves with
 * whether it changed anything (the caller lists the directory again).
 */
export async function finishInterruptedSwaps(
  dir: LogDirectory,
  names: readonly string[],
  segmentBaseOf: (name: string) => { baseOffset: number; isLog: boolean } | undefined,
  logger: Logger,
): Promise<boolean> {
  const swaps = names.map(parseSwapFileName).filter((s): s is SwapFile => s !== undefined);
  if (swaps.length === 0) return false;
  for (const cleaned of swaps.filter((s) => s.stage === 'cleaned')) {
    logger('%s: removing %s, a compaction that did not commit', dir.path, cleaned.name);
    await dir.remove(cleaned.name);
  }
  const committed = swaps.filter((s) => s.stage === 'swap').sort((a, b) => a.baseOffset - b.baseOffset);
  for (let i = 1; i < committed.length; i++) {
    // One swap is in flight at a time; two committed ones can only be disjoint leftovers.
    assert(committed[i]!.baseOffset >= committed[i - 1]!.endOffset, `${dir.path}: overlapping swaps ${committed[i - 1]!.name} and ${committed[i]!.name}`);
  }
  for (const swap of committed) {
    logger('%s: finishing the compaction swap %s', dir.path, swap.name);
    for (const name of names) {
      const segment = segmentBaseOf(name);
      if (segment === undefined || segment.baseOffset < swap.baseOffset || segment.baseOffset >= swap.endOffset) continue;
      if (segment.isLog && segment.baseOffset === swap.baseOffset) continue; // replaced by the rename
      await dir.remove(name);
    }
    await dir.rename(swap.name, `${digits(swap.baseOffset)}.log`);
  }
  return true;
}
