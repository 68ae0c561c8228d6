/**
 * `npm run bench -- log`: append throughput of one partition's segment log on the real disk, with
 * flush=always (every append is fsynced before it would count), 16 KiB batches — next to what the
 * machine itself allows, measured the same way with plain node:fs.
 *
 * Segment log (SegmentLog over NodeLogFileSystem, in a temporary directory):
 * - `1 in flight`: append, flush, repeat — one fdatasync per batch.
 * - `N in flight`: N producers each append then flush, in a loop; flushes share fdatasyncs (group
 *   commit), so one fdatasync covers up to N batches.
 * Raw disk (one file, positional writes of the same 16 KiB buffers through a FileHandle):
 * - write + fdatasync per 16 KiB; N x 16 KiB then one fdatasync (what group commit can reach);
 *   and sequential writes with one fdatasync at the end (the ceiling; ~340 MB/s on this machine class).
 * The goal: the log with N in flight reaches at least half of the sequential ceiling.
 *
 * Each phase runs for about `phaseMs` (default 3 s) or `phaseBytesMax` (default 1 GiB), whichever
 * comes first. The temporary directory is removed even on failure.
 */
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeLogFileSystem } from '../src/node/node-log-fs.js';
import { encodeRecordBatch } from '../src/partitions/record-batch.js';
import { SegmentLog, type SegmentLogConfig } from '../src/partitions/segment-log.js';
import { silentLoggers } from '../src/util/log.js';
import { formatCount, type Bench, type BenchContext, type BenchResult, type BenchRow } from './bench-result.js';
import type { ProgressLine } from './progress.js';

const BATCH_BYTES = 16 * 1024;
const IN_FLIGHT = 64;
const PHASE_MS = 3_000;
const PHASE_BYTES_MAX = 1024 * 1024 * 1024;
/** Sequential ceiling: bytes written before the one fdatasync. */
const SEQUENTIAL_BYTES = 512 * 1024 * 1024;
const MB = 1e6;

export interface BenchLogOptions {
  /** Parent of the temporary directory (default: the OS temp dir). */
  readonly dir?: string;
  readonly progress?: ProgressLine;
  readonly phaseMs?: number;
  readonly inFlight?: number;
}

export interface Phase {
  readonly bytes: number;
  readonly seconds: number;
  readonly syncs: number;
}

export function mbPerS(phase: Phase): number {
  return phase.bytes / MB / phase.seconds;
}

/** A 16 KiB record batch (one record), as a producer would send it. */
export function makeBatch(): Uint8Array {
  const probe = encodeRecordBatch([{ key: null, value: new Uint8Array(0), timestamp: 0 }], {});
  const value = new Uint8Array(BATCH_BYTES - probe.length - 4).fill(0x61);
  let batch = encodeRecordBatch([{ key: null, value, timestamp: Date.now() }], {});
  // The varint length of the value grew by a few bytes: trim the value until the batch is exactly 16 KiB.
  while (batch.length > BATCH_BYTES) {
    batch = encodeRecordBatch([{ key: null, value: value.subarray(0, value.length - (batch.length - BATCH_BYTES)), timestamp: Date.now() }], {});
  }
  return batch;
}

const LOG_CONFIG: SegmentLogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: -1,
  retentionBytes: -1,
  flush: 'always',
  maxMessageBytes: 1024 * 1024,
};

/** `inFlight` producers: append (a copy of `batch`: the log stamps it in place), flush, repeat. */
async function logPhase(log: SegmentLog, batch: Uint8Array, inFlight: number, phaseMs: number, progress: ProgressLine | undefined, label: string): Promise<Phase> {
  const startMs = performance.now();
  const startOffset = log.logEndOffset;
  let bytes = 0;
  let flushes = 0;
  let lastFlushed = log.flushedOffset;
  const producer = async (): Promise<void> => {
    while (performance.now() - startMs < phaseMs && bytes < PHASE_BYTES_MAX) {
      const result = await log.appendAsLeader(batch.slice(), 1, Date.now());
      if ('error' in result) throw new Error(`append failed: ${result.error}: ${result.message}`);
      bytes += batch.length;
      const flushed = await log.flush();
      if (flushed > lastFlushed) {
        flushes++;
        lastFlushed = flushed;
      }
      progress?.update(`log: ${label}: ${formatCount(bytes / MB)} MB`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, producer));
  const seconds = (performance.now() - startMs) / 1000;
  if (log.flushedOffset !== log.logEndOffset) throw new Error('the log is not fully flushed after the phase');
  if (log.logEndOffset - startOffset !== bytes / batch.length) throw new Error('offsets do not match the appends');
  return { bytes, seconds, syncs: flushes };
}

/** Plain node:fs: `group` x 16 KiB positional writes, then one fdatasync, repeated. */
export async function rawPhase(path: string, batch: Uint8Array, group: number, phaseMs: number, bytesMax: number): Promise<Phase> {
  const handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    const startMs = performance.now();
    let position = 0;
    let syncs = 0;
    while (performance.now() - startMs < phaseMs && position < bytesMax) {
      for (let i = 0; i < group; i++) {
        await handle.write(batch, 0, batch.length, position);
        position += batch.length;
      }
      await handle.datasync();
      syncs++;
    }
    return { bytes: position, seconds: (performance.now() - startMs) / 1000, syncs };
  } finally {
    await handle.close();
  }
}

/** Plain node:fs: sequential 16 KiB writes of `bytes`, one fdatasync at the end. */
export async function sequentialCeiling(path: string, batch: Uint8Array, bytes: number): Promise<Phase> {
  const handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    const startMs = performance.now();
    for (let position = 0; position < bytes; position += batch.length) await handle.write(batch, 0, batch.length, position);
    await handle.datasync();
    return { bytes, seconds: (performance.now() - startMs) / 1000, syncs: 1 };
  } finally {
    await handle.close();
  }
}

export async function benchLog(options: BenchLogOptions = {}): Promise<BenchResult> {
  const phaseMs = options.phaseMs ?? PHASE_MS;
  const inFlight = options.inFlight ?? IN_FLIGHT;
  const progress = options.progress;
  const root = await mkdtemp(join(options.dir ?? tmpdir(), 'skein-bench-log-'));
  const batch = makeBatch();
  try {
    progress?.update('log: raw disk', true);
    const rawEach = await rawPhase(join(root, 'raw-each'), batch, 1, phaseMs, PHASE_BYTES_MAX);
    await rm(join(root, 'raw-each'));
    const rawGroup = await rawPhase(join(root, 'raw-group'), batch, inFlight, phaseMs, PHASE_BYTES_MAX);
    await rm(join(root, 'raw-group'));
    const ceiling = await sequentialCeiling(join(root, 'raw-seq'), batch, SEQUENTIAL_BYTES);
    await rm(join(root, 'raw-seq'));

    const fs = await NodeLogFileSystem.open(join(root, 'data'));
    progress?.update('log: segment log, 1 in flight', true);
    let log = await SegmentLog.open({ dir: await fs.directory('bench-0'), config: LOG_CONFIG, nowMs: Date.now(), logger: silentLoggers('') });
    const sequential = await logPhase(log, batch, 1, phaseMs, progress, '1 in flight');
    await log.close();
    await fs.removeDirectory('bench-0');
    progress?.update(`log: segment log, ${inFlight} in flight`, true);
    log = await SegmentLog.open({ dir: await fs.directory('bench-1'), config: LOG_CONFIG, nowMs: Date.now(), logger: silentLoggers('') });
    const pipelined = await logPhase(log, batch, inFlight, phaseMs, progress, `${inFlight} in flight`);
    await log.close();
    await fs.removeDirectory('bench-1');

    const target = mbPerS(ceiling) / 2;
    const rows: BenchRow[] = [
      { what: 'log append+flush, 16 KiB, 1 in flight', value: `${mbPerS(sequential).toFixed(1)} MB/s`, note: `${formatCount(sequential.bytes / BATCH_BYTES / sequential.seconds)} batches/s, ${formatCount(sequential.syncs / sequential.seconds)} fsyncs/s` },
      {
        what: `log append+flush, 16 KiB, ${inFlight} in flight`,
        value: `${mbPerS(pipelined).toFixed(1)} MB/s`,
        note: `${formatCount(pipelined.bytes / BATCH_BYTES / pipelined.seconds)} batches/s, ${(pipelined.bytes / BATCH_BYTES / Math.max(1, pipelined.syncs)).toFixed(1)} batches per fsync; goal >= ${target.toFixed(0)} MB/s (half the ceiling): ${mbPerS(pipelined) >= target ? 'met' : 'NOT met'}`,
      },
      { what: 'raw write+fdatasync, 16 KiB each', value: `${mbPerS(rawEach).toFixed(1)} MB/s`, note: `${formatCount(rawEach.syncs / rawEach.seconds)} fsyncs/s` },
      { what: `raw ${inFlight} x 16 KiB then fdatasync`, value: `${mbPerS(rawGroup).toFixed(1)} MB/s`, note: 'what group commit can reach' },
      { what: 'raw sequential, one fdatasync at the end', value: `${mbPerS(ceiling).toFixed(1)} MB/s`, note: `${SEQUENTIAL_BYTES / 1024 / 1024} MiB; the ceiling` },
    ];
    return {
      figures: {
        log_append_flush_mb_per_s: mbPerS(sequential),
        log_append_flush_pipelined_mb_per_s: mbPerS(pipelined),
        log_batches_per_fsync: pipelined.bytes / BATCH_BYTES / Math.max(1, pipelined.syncs),
        disk_write_fsync_each_mb_per_s: mbPerS(rawEach),
        disk_write_group_fsync_mb_per_s: mbPerS(rawGroup),
        disk_sequential_mb_per_s: mbPerS(ceiling),
      },
      rows,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** For bench/cli.ts: `--dir DIR` puts the temporary directory under DIR. */
export const logBench: Bench = (context: BenchContext) => {
  const dir = context.options.get('dir');
  return benchLog(dir === undefined ? { progress: context.progress } : { progress: context.progress, dir });
};
