/**
 * What the harnesses share — the chaos suite, the benchmarks and the tests: free ports on 127.0.0.1,
 * bounded polling, and the check that replication has caught up.
 */
import { createServer, type Server } from 'node:net';
import type { Admin } from '../src/client/admin.js';

/** `n` distinct ports free on 127.0.0.1 right now (the OS picks them; they are released at once). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/**
 * Polls `probe` every `pollMs` until it returns a value (not undefined); throws after `timeoutMs`,
 * with the probe's last error in the message.
 */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${String(lastError)}`}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * A probe for `waitFor`: replication has caught up once every partition of `topics` and `inSyncToo`
 * has a leader and its whole replica set in the ISR, and the high watermarks of `topics` did not move
 * over `pauseMs`. Returns those high watermarks (topic -> partition -> HW), or undefined.
 */
export async function caughtUp(admin: Admin, topics: readonly string[], pauseMs: number, inSyncToo: readonly string[] = []): Promise<Map<string, Map<number, number>> | undefined> {
  const meta = await admin.fetchTopicMetadata({ topics: [...topics, ...inSyncToo] });
  for (const t of meta.topics) for (const p of t.partitions) if (p.leader <= 0 || p.isr.length !== p.replicas.length) return undefined;
  const read = async (): Promise<Map<string, Map<number, number>>> =>
    new Map(await Promise.all(topics.map(async (t) => [t, new Map((await admin.fetchTopicOffsets(t)).map((o) => [o.partition, o.high]))] as const)));
  const first = await read();
  await new Promise((r) => setTimeout(r, pauseMs));
  const second = await read();
  for (const [t, hws] of first) for (const [p, hw] of hws) if (second.get(t)?.get(p) !== hw) return undefined;
  return second;
}
