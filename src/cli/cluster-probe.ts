/**
 * A quick look at a cluster for `skein cluster up`: the first node of `urls` that answers a metadata
 * request tells the controller and the brokers. Never throws: an unreachable cluster is `undefined`.
 * Each probe opens and closes its own connection (bounded by a short connect timeout).
 */
import { openConnection } from '../net/client-connection.js';

export interface ClusterView {
  readonly clusterId: string;
  readonly controllerId: number;
  readonly brokers: readonly { readonly id: number; readonly fenced: boolean }[];
}

const PROBE_TIMEOUT_MS = 2000;

export async function probeCluster(urls: readonly string[]): Promise<ClusterView | undefined> {
  for (const url of urls) {
    try {
      const connection = await openConnection({ url, clientId: 'skein-cluster-up', connectTimeoutMs: PROBE_TIMEOUT_MS });
      try {
        const m = await connection.request('metadata', { topics: [] }, { timeoutMs: PROBE_TIMEOUT_MS });
        // A node that knows no controller yet may just be behind: ask the next one.
        if (m.controllerId === -1) continue;
        return { clusterId: m.clusterId, controllerId: m.controllerId, brokers: m.brokers.map((b) => ({ id: b.id, fenced: b.fenced })) };
      } finally {
        connection.close();
      }
    } catch {
      // not up (yet): try the next
    }
  }
  return undefined;
}
