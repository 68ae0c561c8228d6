/**
 * `npm run bench -- record-batch`: throughput of the record batch v2 codec (src/partitions/
 * record-batch.ts) on the produce path, in this thread, no I/O.
 *
 * For records of 100 B and 1 KiB (values of that size, null key, no headers, one timestamp), batches
 * are filled up to 16 KiB (Kafka's default batch.size). Measured after a warm-up, best of 3 runs of 0.5 s:
 *   encode    encodeRecordBatch of a batch's records (the producer's work per batch)
 *   validate  validateBatch (framing + CRC-32C + counts; the broker's work per produced batch)
 *   decode    decodeRecords (the consumer's work; views, no copies)
 * MB/s counts batch bytes (10^6 bytes per MB); records/s counts records. The CRC-32C alone over the
 * same bytes is reported as the ceiling for validate.
 */
import { decodeRecords, encodeRecordBatch, validateBatch, type RecordInput } from '../src/partitions/record-batch.js';
import { crc32c } from '../src/util/crc32c.js';
import { formatCount, type BenchContext, type BenchResult, type BenchRow } from './bench-result.js';

const BATCH_BYTES_TARGET = 16 * 1024;
const RECORD_SIZES = [100, 1024] as const;
const WARMUP_MS = 200;
const MEASURE_MS = 1_500;
const RUNS = 3;
const TIMESTAMP_MS = 1_700_000_000_000;

interface Rate {
  readonly bytesPerS: number;
  readonly recordsPerS: number;
}

/** Runs `step` (which handles one batch and returns a value to keep it from being optimized away) for `durationMs`. */
function measure(step: () => number, batchBytes: number, recordsPerBatch: number, durationMs: number): Rate & { sink: number } {
  let sink = 0;
  let batches = 0;
  const startMs = performance.now();
  let elapsedMs = 0;
  // Check the clock every 64 batches: a batch takes microseconds, performance.now() is not free.
  while (elapsedMs < durationMs) {
    for (let i = 0; i < 64; i++) sink += step();
    batches += 64;
    elapsedMs = performance.now() - startMs;
  }
  const seconds = elapsedMs / 1000;
  return { bytesPerS: (batches * batchBytes) / seconds, recordsPerS: (batches * recordsPerBatch) / seconds, sink };
}

/** The records of one batch of `recordBytes`-byte values, as many as fit in BATCH_BYTES_TARGET. */
function fullBatch(recordBytes: number): RecordInput[] {
  const value = new Uint8Array(recordBytes);
  for (let i = 0; i < value.length; i++) value[i] = (i * 31 + 7) & 0xff;
  const records: RecordInput[] = [];
  for (;;) {
    records.push({ key: null, value });
    if (encodeRecordBatch(records, { timestampMs: TIMESTAMP_MS }).length > BATCH_BYTES_TARGET) {
      records.pop();
      return records;
    }
  }
}

const mbPerS = (rate: Rate): string => (rate.bytesPerS / 1e6).toFixed(0);

export async function benchRecordBatch(context?: BenchContext): Promise<BenchResult> {
  const figures: Record<string, number> = {};
  const rows: BenchRow[] = [];
  for (const recordBytes of RECORD_SIZES) {
    const records = fullBatch(recordBytes);
    const batch = encodeRecordBatch(records, { timestampMs: TIMESTAMP_MS });
    const n = records.length;
    const label = recordBytes >= 1024 ? `${recordBytes / 1024}kib` : `${recordBytes}b`;
    const steps: Array<[string, () => number]> = [
      ['encode', () => encodeRecordBatch(records, { timestampMs: TIMESTAMP_MS }).length],
      [
        'validate',
        () => {
          const result = validateBatch(batch);
          if (!result.ok) throw new Error(`bench batch invalid: ${result.message}`);
          return result.header.recordCount;
        },
      ],
      ['decode', () => decodeRecords(batch).length],
      ['crc32c', () => crc32c(batch.subarray(21))],
    ];
    for (const [what, step] of steps) {
      context?.progress.update(`record-batch: ${what}, ${recordBytes} B records`);
      measure(step, batch.length, n, WARMUP_MS);
      // Best of RUNS: other work on the machine only ever slows a run down.
      let rate: Rate = { bytesPerS: 0, recordsPerS: 0 };
      for (let run = 0; run < RUNS; run++) {
        const measured = measure(step, batch.length, n, MEASURE_MS / RUNS);
        if (!Number.isFinite(measured.sink)) throw new Error('unreachable: keeps the results alive');
        if (measured.bytesPerS > rate.bytesPerS) rate = measured;
        // Yield to the event loop between runs (progress output, signals).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      figures[`record_batch_${what}_${label}_mb_per_s`] = Math.round(rate.bytesPerS / 1e6);
      figures[`record_batch_${what}_${label}_records_per_s`] = Math.round(rate.recordsPerS);
      rows.push({
        what: `${what}, ${recordBytes} B records`,
        value: `${mbPerS(rate)} MB/s`,
        note: `${formatCount(rate.recordsPerS)} records/s; ${n} records per ${batch.length} B batch${what === 'crc32c' ? ' (CRC alone: the ceiling for validate)' : ''}`,
      });
    }
  }
  return { figures, rows };
}
