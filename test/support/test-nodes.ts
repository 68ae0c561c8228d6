/**
 * What every in-process cluster of the tests needs: free ports on 127.0.0.1, bounded polling, and the
 * configs of an N-node cluster (each node controller+broker, data in a temporary directory, fast
 * timeouts). The cluster helpers (client, consumer, groups, browser) build on these.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNodeConfig, type NodeConfig } from '../../src/node/node-config.js';

/** `n` ports free on 127.0.0.1 right now. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
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

/** Polls `probe` until it returns a value (not undefined), for at most `timeoutMs`; its last error is in the timeout's message. */
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
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError === undefined ? '' : `: ${String(lastError)}`}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * The configs of an `n`-node cluster (node ids 1..n) on free ports. Each data directory is created
 * under the OS temp dir and pushed on `dirs` at once, so the caller removes it even if a later step
 * fails. `overrides` replace config fields (timeouts, topicDefaults, ...).
 */
export async function testNodeConfigs(
  n: number,
  dirs: string[],
  options: { readonly clusterId: string; readonly overrides?: Readonly<Record<string, unknown>> },
): Promise<NodeConfig[]> {
  const ports = await freePorts(n);
  const voters = ports.map((port, i) => ({ id: i + 1, url: `ws://127.0.0.1:${port}` }));
  const configs: NodeConfig[] = [];
  for (const [i, port] of ports.entries()) {
    const dir = await mkdtemp(join(tmpdir(), `skein-${options.clusterId}-${i + 1}-`));
    dirs.push(dir);
    configs.push(
      parseNodeConfig({
        nodeId: i + 1,
        roles: ['controller', 'broker'],
        voters,
        listen: { host: '127.0.0.1', port },
        dataDir: dir,
        clusterId: options.clusterId,
        tickMs: 50,
        electionTimeoutTicks: 10,
        sessionTimeoutMs: 3000,
        heartbeatIntervalMs: 250,
        replicaLagTimeMaxMs: 3000,
        controlledShutdownTimeoutMs: 3000,
        ...options.overrides,
      }),
    );
  }
  return configs;
}
