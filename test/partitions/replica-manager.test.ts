/**
 * The replica manager follows the metadata image: it opens a replica's log on the simulated log disk
 * when the broker gets one, and when the topic is deleted it closes the log and removes its directory.
 */
import { expect } from 'chai';
import { MetadataImage } from '../../src/metadata/image.js';
import type { MetadataRecord } from '../../src/metadata/records.js';
import { ReplicaManager } from '../../src/partitions/replica-manager.js';
import { SeededRandom } from '../../src/util/random.js';
import { Scheduler } from '../../sim/scheduler.js';
import { SimLogDisk } from '../../sim/sim-log-fs.js';
import { simLogs } from './sim-logs.js';

describe('ReplicaManager and the metadata image', () => {
  it('opens the log of a new replica, and closes and deletes it with its topic', async () => {
    const scheduler = new Scheduler();
    const disk = new SimLogDisk({ clock: scheduler, random: new SeededRandom(3), latencyMs: { min: 0, max: 1 } });
    const fs = disk.mount();
    const manager = new ReplicaManager({
      brokerId: 1,
      clock: scheduler,
      logger: () => {},
      ...simLogs(fs),
      replicaFetch: () => Promise.reject(new Error('no network in this test')),
      alterPartition: () => Promise.reject(new Error('no controller in this test')),
      brokerEpoch: () => 1,
      mayLead: () => true,
    });
    const image = new MetadataImage();
    const apply = async (records: MetadataRecord[], offset: number): Promise<void> => {
      manager.onDelta(image.applyBatch(records, offset), image);
      // The manager reacts in promise jobs that start disk work on the scheduler: let both run.
      for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        await scheduler.runUntil({ untilMs: scheduler.nowMs() + 10 });
      }
    };
    await apply(
      [
        { type: 'register-broker', brokerId: 1, incarnationId: 'a', brokerEpoch: 1, endpoints: [], rack: '' },
        { type: 'broker-registration-change', brokerId: 1, brokerEpoch: 1, fenced: false },
        { type: 'topic', name: 't', topicId: 'T' },
        { type: 'partition', topicId: 'T', partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
      ],
      1,
    );
    expect(manager.replica('T', 0)?.role).to.equal('leader');
    expect(disk.directoryNames()).to.deep.equal(['T-0']);
    await apply([{ type: 'remove-topic', topicId: 'T' }], 2);
    expect(manager.replica('T', 0)).to.equal(undefined);
    expect(disk.directoryNames(), 'the deleted topic\'s log directory is gone').to.deep.equal([]);
  });
});
