/**
 * What the harnesses share — the chaos suite, the benchmarks and the tests: free ports on 127.0.0.1
 * and bounded polling.
 */
import { createServer, type Server } from 'node:net';

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
