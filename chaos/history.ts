/**
 * The history of a chaos run: every operation and its outcome, one JSON object per line
 * (history.jsonl), in the order they happened. `t` is ms since the run started. It is everything the
 * checker needs: `npm run chaos -- --check FILE` re-checks a saved history without a cluster.
 *
 * Operations (`f`) and their events (`type`):
 * - send: invoke (value, partition) then ok (offset) | fail (definitely not written) | info (unknown:
 *   may or may not be in the log) — by an idempotent producer `process` with acks=all.
 * - poll: ok — a consumer `process` read `value` at `offset` of `partition`; `hw` is the high watermark
 *   of the fetch answer that carried it.
 * - reset: a consumer's position on `partition` moved by itself (offset reset, truncation, a new
 *   owner): its next offsets may repeat.
 * - assign / revoke / lost: a group member starts reading `partition` at `offset`, or stops.
 * - commit: invoke then ok | fail — a group member committing `offset` for `partition`.
 * - fault: start | end of a fault (`kind`, `desc`, `nodes`).
 * - final: the log of `partition` read from the start after healing (`records`: [offset, value] pairs),
 *   and final-commit: the group's committed `offset` of `partition` at the end.
 * - anomaly: something the run saw outside the checker (a node that exited by itself, no convergence).
 */
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

export type HistoryEvent =
  | { t: number; f: 'send'; type: 'invoke' | 'ok' | 'fail' | 'info'; process: string; value: string; partition: number; offset?: number; error?: string }
  | { t: number; f: 'poll'; type: 'ok'; process: string; partition: number; offset: number; value: string; hw: number }
  | { t: number; f: 'reset'; process: string; partition: number; why: string }
  | { t: number; f: 'assign'; process: string; partition: number; offset: number }
  | { t: number; f: 'revoke' | 'lost'; process: string; partition: number }
  | { t: number; f: 'commit'; type: 'invoke' | 'ok' | 'fail'; process: string; partition: number; offset: number; sentAt?: number; error?: string }
  | { t: number; f: 'fault'; type: 'start' | 'end'; kind: string; desc: string; nodes: number[] }
  | { t: number; f: 'final'; partition: number; records: Array<[number, string]> }
  | { t: number; f: 'final-commit'; partition: number; offset: number }
  | { t: number; f: 'anomaly'; message: string };

/** An event as given to `record`: `t` is added. */
export type NewEvent = HistoryEvent extends infer E ? (E extends HistoryEvent ? Omit<E, 't'> : never) : never;

export class History {
  readonly events: HistoryEvent[] = [];
  private readonly startMs = Date.now();
  private readonly out: WriteStream | undefined;

  /** `path`: the JSON-lines file to append to; undefined keeps the history in memory only. */
  constructor(readonly path: string | undefined) {
    this.out = path === undefined ? undefined : createWriteStream(path, { flags: 'w' });
  }

  /** ms since the run started. */
  nowMs(): number {
    return Date.now() - this.startMs;
  }

  record(event: NewEvent): HistoryEvent {
    const e = { t: this.nowMs(), ...event } as HistoryEvent;
    this.events.push(e);
    this.out?.write(`${JSON.stringify(e)}\n`);
    return e;
  }

  async close(): Promise<void> {
    const out = this.out;
    if (out !== undefined) await new Promise<void>((resolve) => out.end(() => resolve()));
  }

  /** Reads a history file back. Throws on a malformed line (naming it). */
  static read(path: string): HistoryEvent[] {
    const lines = readFileSync(path, 'utf8').split('\n');
    const out: HistoryEvent[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        out.push(JSON.parse(line) as HistoryEvent);
      } catch (e) {
        throw new Error(`${path}:${i + 1}: not a JSON line: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    return out;
  }
}
