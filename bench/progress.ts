/**
 * The live progress line of `npm run bench`, on stderr so that stdout stays the result (a table, or
 * one JSON object with --json). On a terminal one line is rewritten in place; otherwise (CI logs,
 * pipes) updates are printed as lines, at most one per `plainIntervalMs`.
 */

export class ProgressLine {
  private readonly tty: boolean;
  private lastPlainMs = Number.NEGATIVE_INFINITY;
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainIntervalMs = 1000,
  ) {
    this.tty = stream.isTTY === true;
  }

  /** Shows `text` as the current state; `force` prints it even when plain output is throttled. */
  update(text: string, force = false): void {
    if (this.tty) {
      this.stream.write(`\r\x1b[K${text}`);
      this.shown = true;
      return;
    }
    const now = performance.now();
    if (!force && now - this.lastPlainMs < this.plainIntervalMs) return;
    this.lastPlainMs = now;
    this.stream.write(`${text}\n`);
  }

  /** Clears the line (on a terminal) before the results are printed. */
  clear(): void {
    if (this.tty && this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
