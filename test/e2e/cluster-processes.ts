/**
 * Real node processes for end-to-end tests: the launcher lives in bench/local-cluster.ts (the
 * benchmarks start their clusters the same way); this module keeps the names the e2e tests use.
 */
export { freePortRange, LocalCluster as ClusterProcesses, runSkein, SKEIN_BIN } from '../../bench/local-cluster.js';

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
