/**
 * Kafka's variable-length integers (protobuf-style base-128, least significant group first, high
 * bit = "more bytes follow", values zigzag-encoded so small negatives stay short), as used inside
 * record batch v2 (Kafka's `ByteUtils.writeVarint` / `writeVarlong`; KIP-98).
 *
 * - varint:  a signed 32-bit integer, 1..5 bytes.
 * - varlong: a signed 64-bit integer, 1..10 bytes. Skein holds it in a JS number, so only safe
 *   integers (|v| <= 2^53 - 1) are representable; writers assert that, readers reject anything else.
 *
 * Contract: writers take the destination and a position, write without bounds checks (the caller
 * sized the buffer with `sizeOfVarint`/`sizeOfVarlong`) and return the position after the value.
 * Readers take a `VarintCursor` (advanced past the value) and an exclusive `end`, and throw
 * `VarintError` on a truncated, over-long or out-of-range value; they never read at or past `end`.
 * Readers are strict where Kafka is lenient: the fifth byte of a varint may carry only the 4 bits
 * that exist, so a flipped high bit is caught even where a CRC is not checked.
 * Pure functions: no allocation on any path except the error.
 */
import { assert } from '../util/assert.js';

const TWO_POW_7 = 0x80;
const TWO_POW_27 = 0x800_0000;
const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
/** Bit 28 and up of a varlong, at most: keeps `magnitude` below 2^53 (see readVarlong). */
const VARLONG_HIGH_MAX = 0x400_0000; // 2^26

/** Malformed variable-length integer; the record-batch decoder turns it into a CorruptRecordError. */
export class VarintError extends Error {
  override readonly name = 'VarintError';
  readonly code = 'VARINT_MALFORMED';
}

/** A read position into a byte array, advanced by the readers. */
export interface VarintCursor {
  pos: number;
}

/** Bytes that `writeVarint(value)` writes: 1..5. `value` must be an int32. */
export function sizeOfVarint(value: number): number {
  const u = ((value << 1) ^ (value >> 31)) >>> 0;
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x20_0000) return 3;
  if (u < 0x1000_0000) return 4;
  return 5;
}

/** Writes the int32 `value` zigzag-encoded at `pos`; returns the position after it. */
export function writeVarint(bytes: Uint8Array, pos: number, value: number): number {
  let u = ((value << 1) ^ (value >> 31)) >>> 0;
  while (u >= 0x80) {
    bytes[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  bytes[pos++] = u;
  return pos;
}

/** Whether `value` takes the 32-bit fast path of the varlong code (zigzag fits in 31 bits). */
function isSmall(value: number): boolean {
  return value >= -0x4000_0000 && value < 0x4000_0000 && (value | 0) === value;
}

/** Bytes that `writeVarlong(value)` writes: 1..10 (at most 8 for a safe integer). */
export function sizeOfVarlong(value: number): number {
  if (isSmall(value)) return sizeOfVarint(value);
  if (!Number.isSafeInteger(value)) assert(false, `varlong must be a safe integer, got ${value}`);
  // zigzag(value) = 2 * magnitude + sign; count its 7-bit groups without forming it (it may exceed 2^53).
  let rest = Math.floor((value >= 0 ? value : -value - 1) / 64); // zigzag(value) >>> 7
  let size = 1;
  while (rest > 0) {
    rest = Math.floor(rest / TWO_POW_7);
    size++;
  }
  return size;
}

/** Writes the safe integer `value` as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarlong(bytes: Uint8Array, pos: number, value: number): number {
  if (isSmall(value)) return writeVarint(bytes, pos, value);
  if (!Number.isSafeInteger(value)) assert(false, `varlong must be a safe integer, got ${value}`);
  const sign = value < 0 ? 1 : 0;
  const magnitude = sign === 1 ? -value - 1 : value;
  // Low group: bits 0..6 of 2 * magnitude + sign. The rest is magnitude >> 6 (< 2^47, exact).
  let rest = Math.floor(magnitude / 64);
  let group = (magnitude - rest * 64) * 2 + sign;
  while (rest > 0) {
    bytes[pos++] = group | 0x80;
    const next = Math.floor(rest / TWO_POW_7);
    group = rest - next * TWO_POW_7;
    rest = next;
  }
  bytes[pos++] = group;
  return pos;
}

/** Reads a zigzag varint (an int32) at `cursor.pos`, not reading at or past `end`. */
export function readVarint(bytes: Uint8Array, cursor: VarintCursor, end: number): number {
  let pos = cursor.pos;
  if (pos >= end) throw new VarintError(`varint truncated at byte ${pos}`);
  let b = bytes[pos++]!;
  if (b < 0x80) {
    // One byte: the common case (lengths < 64, deltas, attributes).
    cursor.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let u = b & 0x7f;
  for (let shift = 7; ; shift += 7) {
    if (pos >= end) throw new VarintError(`varint truncated at byte ${pos}`);
    b = bytes[pos++]!;
    if (shift === 28) {
      if (b > 0x0f) throw new VarintError(`varint longer than 32 bits ending at byte ${pos - 1}`);
      u = (u | (b << 28)) >>> 0;
      break;
    }
    u |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  cursor.pos = pos;
  return (u >>> 1) ^ -(u & 1);
}

/**
 * Reads a zigzag varlong at `cursor.pos` that must hold a safe integer, not reading at or past `end`.
 * The first four groups (28 bits) are summed as an int, the rest as a number below 2^26 — so the
 * magnitude (zigzag >> 1) = high * 2^27 + (low >> 1) stays exact.
 */
export function readVarlong(bytes: Uint8Array, cursor: VarintCursor, end: number): number {
  let pos = cursor.pos;
  let low = 0;
  let high = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new VarintError(`varlong truncated at byte ${pos}`);
    const b = bytes[pos++]!;
    if (shift < 28) low |= (b & 0x7f) << shift;
    else high += (b & 0x7f) * 2 ** (shift - 28);
    if (b < 0x80) break;
    shift += 7;
    if (shift > 63) throw new VarintError(`varlong longer than 64 bits ending at byte ${pos - 1}`);
  }
  if (high >= VARLONG_HIGH_MAX) throw new VarintError(`varlong at byte ${cursor.pos} is not a safe integer`);
  const magnitude = high * TWO_POW_27 + (low >>> 1);
  const value = (low & 1) === 0 ? magnitude : -magnitude - 1;
  if (!Number.isSafeInteger(value)) throw new VarintError(`varlong at byte ${cursor.pos} is not a safe integer`);
  cursor.pos = pos;
  return value;
}

/** Whether `value` is an int32 (what a varint can carry). */
export function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}
