/**
 * A replica manager's logs on a simulated log disk, for tests: flush=always, 1 MiB segments, no
 * retention.
 */
import type { ReplicaManagerOptions } from '../../src/partitions/replica-manager.js';
import { SegmentLog } from '../../src/partitions/segment-log.js';
import type { SimLogDisk } from '../../sim/sim-log-fs.js';

export function simLogs(fs: ReturnType<SimLogDisk['mount']>): Pick<ReplicaManagerOptions, 'openLog' | 'deleteLog'> {
  return {
    openLog: async (topicId, partition) =>
      SegmentLog.open({
        dir: await fs.directory(`${topicId}-${partition}`),
        config: { segmentBytes: 1 << 20, segmentMs: 1e9, retentionMs: -1, retentionBytes: -1, flush: 'always', maxMessageBytes: 1 << 20 },
        nowMs: 0,
        logger: () => {},
      }),
    deleteLog: (topicId, partition) => fs.removeDirectory(`${topicId}-${partition}`),
  };
}
