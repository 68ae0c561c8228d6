/**
 * CRC-32C (Castagnoli; reflected polynomial 0x82F63B78), the checksum of Kafka record batches
 * (KIP-98) and of Skein's stored Raft entries.
 *
 * Two implementations with one contract: in Node.js, the hardware one of `@node-rs/crc32` (SSE 4.2 /
 * ARMv8 CRC instructions, about 4x the portable one on record batches); where it cannot load (a
 * browser, a platform without its prebuilt binary), `crc32cPortable` — pure TypeScript, slice-by-8:
 * eight 256-entry tables computed once at module load, then eight input bytes per step.
 * `CRC32C_IMPLEMENTATION` says which one `crc32c` uses; `SKEIN_CRC32C=portable` forces the portable one.
 *
 * Contract: `crc32c(data, initial)` returns an unsigned 32-bit integer and composes incrementally:
 * `crc32c(b, crc32c(a)) === crc32c(concat(a, b))`. It reads `data` and never mutates it.
 * Check values: "123456789" -> 0xE3069283; 32 zero bytes -> 0x8A9136AA.
 */

const POLY_REFLECTED = 0x82f63b78;

/** Table k (k = 0..7) lives at [k * 256, k * 256 + 256): the CRC of a byte followed by k zero bytes. */
const TABLES: Int32Array = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = (c >>> 8) ^ t[c & 0xff]!;
      t[k * 256 + n] = c;
    }
  }
  return t;
}

type Crc32c = (data: Uint8Array, initial?: number) => number;

/** `@node-rs/crc32`'s crc32c in Node.js, or undefined (browsers have no `process.getBuiltinModule`). */
function loadHardwareCrc32c(): Crc32c | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; env?: Record<string, string | undefined> } }).process;
  if (typeof proc?.getBuiltinModule !== 'function' || proc.env?.['SKEIN_CRC32C'] === 'portable') return undefined;
  try {
    const { createRequire } = proc.getBuiltinModule('node:module') as typeof import('node:module');
    const binding = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: unknown };
    return typeof binding.crc32c === 'function' ? (binding.crc32c as Crc32c) : undefined;
  } catch {
    return undefined; // not installed, or no binary for this platform: the portable one serves
  }
}

const hardware = loadHardwareCrc32c();

/** Which implementation `crc32c` uses in this process. */
export const CRC32C_IMPLEMENTATION: 'hardware' | 'portable' = hardware === undefined ? 'portable' : 'hardware';

/**
 * The CRC-32C of `data`, continuing from `initial` (the result of a previous call over the bytes
 * that precede `data`; 0 to start). Returns an unsigned 32-bit integer.
 */
export const crc32c: Crc32c = hardware === undefined ? crc32cPortable : (data, initial = 0) => hardware(data, initial) >>> 0;

/** The pure TypeScript CRC-32C (same contract as `crc32c`). */
export function crc32cPortable(data: Uint8Array, initial = 0): number {
  const t = TABLES;
  let crc = ~initial;
  let i = 0;
  const length = data.length;
  const end8 = length - (length & 7);
  // The `!` below: every index is masked to 0..255 plus a table offset, so it is always in range.
  while (i < end8) {
    const lo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) ^ crc;
    const hi = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc =
      t[0x700 + (lo & 0xff)]! ^
      t[0x600 + ((lo >>> 8) & 0xff)]! ^
      t[0x500 + ((lo >>> 16) & 0xff)]! ^
      t[0x400 + (lo >>> 24)]! ^
      t[0x300 + (hi & 0xff)]! ^
      t[0x200 + ((hi >>> 8) & 0xff)]! ^
      t[0x100 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
    i += 8;
  }
  while (i < length) {
    crc = (crc >>> 8) ^ t[(crc ^ data[i]!) & 0xff]!;
    i++;
  }
  return ~crc >>> 0;
}
