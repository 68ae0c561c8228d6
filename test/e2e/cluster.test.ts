/**
 * The running system end to end, with real processes (`skein cluster up`, `skein node`), real
 * sockets and real disks:
 * - 10,000 records produced with acks=all by an idempotent producer while the leader of a partition
 *   is killed with kill -9 and later restarted by hand; every acknowledged record is read back exactly
 *   once, in order per partition, and the restarted node rejoins every ISR. The controller fences the
 *   killed node because its connections closed, not because its session timed out.
 * - The CLI as the README tour uses it: topic create / list / describe, produce from stdin, consume.
 *
 * Nothing asserts on timing; waits are bounded polls.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_NODE_V8_FLAGS } from '../../src/cli/node-flags.js';
import { Skein } from '../../src/client/skein.js';
import type { Admin } from '../../src/client/admin.js';
import { ClusterProcesses, runSkein } from './cluster-processes.js';
import { waitFor } from '../support/test-nodes.js';

describe('end to end: a 3-node cluster of real processes', function () {
  this.timeout(240_000);
  let cluster: ClusterProcesses;

  before(async () => {
    // The controllers' log says why a broker was fenced.
    cluster = await ClusterProcesses.start({ nodes: 3, env: { DEBUG: 'skein:metadata:controller' } });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('keeps every acknowledged record of 10,000 (acks=all) through a kill -9 of a partition leader and its restart', async () => {
    const skein = new Skein({ brokers: cluster.brokers, clientId: 'e2e' });
    const admin: Admin = skein.admin();
    await admin.connect();
    const producer = skein.producer({ acks: -1, idempotent: true, lingerMs: 2 });
    await producer.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] })).to.equal(true);
      const before = (await admin.fetchTopicMetadata({ topics: ['orders'] })).topics[0];
      const victim = before?.partitions.find((p) => p.partitionId === 0)?.leader ?? -1;
      expect(victim).to.be.greaterThan(0);

      const TOTAL = 10_000;
      const PER_SEND = 50;
      const acknowledged = new Set<number>();
      const failed: unknown[] = [];
      let killed = false;
      let restarted: Promise<void> | undefined;
      const inFlight = new Set<Promise<void>>();
      for (let first = 0; first < TOTAL; first += PER_SEND) {
        const indexes = Array.from({ length: PER_SEND }, (_, i) => first + i);
        const sent = producer
          .send({ topic: 'orders', messages: indexes.map((i) => ({ key: `k${i % 97}`, value: `r-${i}` })) })
          .then(
            () => indexes.forEach((i) => acknowledged.add(i)),
            (e: unknown) => void failed.push(e),
          );
        const tracked = sent.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        while (inFlight.size >= 8) await Promise.race(inFlight);
        if (!killed && acknowledged.size >= 3000) {
          killed = true;
          cluster.kill9(victim);
        }
        if (killed && restarted === undefined && acknowledged.size >= 6000) restarted = cluster.restart(victim);
      }
      await Promise.all(inFlight);
      await restarted;
      expect(killed, 'the leader was killed mid-stream').to.equal(true);
      expect(restarted, 'the node was restarted mid-stream').to.not.equal(undefined);
      expect(failed, `sends that failed: ${failed.map(String).join('; ')}`).to.deep.equal([]);
      expect(acknowledged.size).to.equal(TOTAL);
      // Every node runs with the node V8 flags: those of cluster up, and the one restarted by hand (relaunched).
      for (const id of [1, 2, 3]) expect(readFileSync(`/proc/${cluster.pidOf(id)}/cmdline`, 'utf8').split('\0'), `node ${id}`).to.include.members([...DEFAULT_NODE_V8_FLAGS]);
      const logs = [1, 2, 3].map((id) => readFileSync(join(cluster.nodeDir(id), 'node.log'), 'utf8')).join('\n');
      expect(logs, 'fenced for its closed connections').to.match(new RegExp(`fencing broker ${victim}: no connection for \\d+ ms`));

      // The restarted node catches up and rejoins every ISR.
      await waitFor(`node ${victim} back in every ISR`, 60_000, async () => {
        const t = (await admin.fetchTopicMetadata({ topics: ['orders'] })).topics[0];
        return t !== undefined && t.partitions.every((p) => p.isr.includes(victim)) ? true : undefined;
      });

      // Read everything back: each acknowledged record exactly once, in send order per partition.
      const consumer = skein.consumer();
      await consumer.connect();
      const seen = new Map<number, number[]>();
      let count = 0;
      const done = new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              const value = new TextDecoder().decode(message.value ?? new Uint8Array());
              const list = seen.get(partition) ?? [];
              list.push(Number(value.slice(2)));
              seen.set(partition, list);
              if (++count === TOTAL) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.assign([{ topic: 'orders', fromBeginning: true }]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`read ${count} of ${TOTAL}`)), 60_000)))]).finally(() => clearTimeout(timer));
      await consumer.disconnect();

      const all = [...seen.values()].flat();
      expect(all.length).to.equal(TOTAL);
      expect(new Set(all).size, 'no duplicates').to.equal(TOTAL);
      for (const i of acknowledged) expect(all.includes(i) || false, `record ${i} lost`).to.equal(true);
      for (const [partition, list] of seen) {
        for (let i = 1; i < list.length; i++) expect(list[i]! > list[i - 1]!, `partition ${partition} out of order at ${i}: ${list[i - 1]} then ${list[i]}`).to.equal(true);
      }
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('runs the README tour commands: create, list, describe, produce from stdin, consume', async () => {
    const brokers = cluster.brokers.join(',');
    const created = await runSkein(['topic', 'create', 'tour', '-p', '3', '-r', '3', '--brokers', brokers]);
    expect(created.stdout).to.contain('created topic tour (3 partitions, replication factor 3)');
    expect(created.code).to.equal(0);

    const again = await runSkein(['topic', 'create', 'tour', '--brokers', brokers]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain('topic tour already exists');

    const bad = await runSkein(['topic', 'create', 'x', '-p', 'zero', '--brokers', brokers]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--partitions must be an integer');

    const list = await runSkein(['topic', 'list', '--brokers', brokers]);
    expect(list.stdout.split('\n')).to.include('tour');

    const lines = Array.from({ length: 500 }, (_, i) => `hello-${i}`);
    const produced = await runSkein(['topic', 'produce', 'tour', '--brokers', brokers], { stdin: `${lines.join('\n')}\n` });
    expect(produced.stdout.trim()).to.equal('produced 500 records');
    expect(produced.code).to.equal(0);

    const missing = await runSkein(['topic', 'produce', 'no-such-topic', '--brokers', brokers], { stdin: 'x\n' });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/UNKNOWN_TOPIC/);

    const consumed = await runSkein(['topic', 'consume', 'tour', '--from-beginning', '-n', '500', '--brokers', brokers], { env: { SKEIN_BROKERS: '' } });
    expect(consumed.code).to.equal(0);
    expect(consumed.stdout.trim().split('\n').sort()).to.deep.equal([...lines].sort());

    const described = await runSkein(['topic', 'describe', 'tour', '--json', '--brokers', brokers]);
    const doc = JSON.parse(described.stdout) as { partitions: { isr: number[] }[]; offsets: { high: number }[] };
    expect(doc.partitions).to.have.length(3);
    expect(doc.offsets.reduce((sum, o) => sum + o.high, 0)).to.equal(500);

    const quorum = await runSkein(['cluster', 'quorum', '--json', '--brokers', brokers]);
    const q = JSON.parse(quorum.stdout) as { leaderId: number; voters: { id: number }[] };
    expect(q.voters.map((v) => v.id)).to.deep.equal([1, 2, 3]);
  });
  it('refuses to look ready on another cluster\'s ports; Ctrl-C stops every node; a second start reuses the data', async () => {
    // A second `cluster up` on the same ports: its nodes cannot bind, and it must not report ready.
    const other = await runSkein(['cluster', 'up', '--data', `${cluster.dir}/other`, '--port', String(cluster.basePort)]);
    expect(other.code).to.equal(1);
    expect(other.stdout).to.not.contain('cluster ready');
    expect(other.stdout).to.contain('every node exited before the cluster was ready');

    expect(await cluster.interrupt()).to.equal(0);
    expect(cluster.log).to.contain('cluster stopped');
    for (let id = 1; id <= 3; id++) expect(() => cluster.pidOf(id), `node ${id} removed its pid file`).to.throw();

    await cluster.relaunch();
    const brokers = cluster.brokers.join(',');
    const list = await runSkein(['topic', 'list', '--brokers', brokers]);
    expect(list.stdout.split('\n')).to.include.members(['orders', 'tour']);
    const consumed = await runSkein(['topic', 'consume', 'tour', '--from-beginning', '-n', '500', '--brokers', brokers]);
    expect(consumed.code).to.equal(0);
    expect(consumed.stdout.trim().split('\n')).to.have.length(500);
  });
});
