/**
 * The benchmark harness (bench/), checked for what it counts, never for how fast anything is:
 * - percentiles and medians, and the CPU-profile summary on a hand-made profile;
 * - a load worker process against a real 3-node cluster: a closed-loop produce whose acknowledged
 *   records are all read back by a consumer process, and an open-loop (paced) run whose every record
 *   is acknowledged and consumed, with a latency sample per record;
 * - the latency floor's bare chain: every batch acknowledged, one sample per batch after the warm-up.
 */
import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { summariseProfiles, type CpuProfile } from '../../bench/cpu-profile.js';
import { measureLatencyFloor } from '../../bench/latency-floor.js';
import { LatencyRecorder, median, percentile } from '../../bench/latency-recorder.js';
import { LoadClient } from '../../bench/load-client.js';
import { wallMs } from '../../bench/load-protocol.js';
import { latencyBench } from '../../bench/latency.js';
import { LocalCluster } from '../../bench/local-cluster.js';
import { ProgressLine } from '../../bench/progress.js';
import { Skein } from '../../src/client/skein.js';

describe('bench harness: statistics', () => {
  it('takes nearest-rank percentiles over every sample and medians of runs', () => {
    const r = new LatencyRecorder();
    for (let i = 1000; i >= 1; i--) r.record(i);
    const s = r.summary();
    expect(s.count).to.equal(1000);
    expect(s.p50Ms).to.equal(500);
    expect(s.p99Ms).to.equal(990);
    expect(s.p999Ms).to.equal(999);
    expect(s.maxMs).to.equal(1000);
    expect(s.meanMs).to.equal(500.5);
    expect(percentile([], 0.5)).to.be.NaN;
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
  });

  it('counts samples beyond its bound as dropped instead of keeping them', () => {
    const r = new LatencyRecorder(3);
    for (let i = 0; i < 5; i++) r.record(i);
    expect(r.summary()).to.include({ count: 3, dropped: 2, maxMs: 2 });
  });

  it('summarises a CPU profile: self time per function and file, inclusive time, idle excluded from busy', () => {
    const frame = (functionName: string, url = 'file:///repo/dist/src/x.js', lineNumber = 0): CpuProfile['nodes'][number]['callFrame'] => ({ functionName, url, lineNumber });
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 5] },
        { id: 2, callFrame: frame('outer', 'file:///repo/dist/src/a.js', 9), children: [3] },
        { id: 3, callFrame: frame('inner', 'file:///repo/dist/src/b.js', 19), children: [4] },
        { id: 4, callFrame: frame('writeBuffer', ''), children: [] },
        { id: 5, callFrame: frame('(idle)', ''), children: [] },
      ],
      samples: [2, 3, 3, 4, 5],
      timeDeltas: [1000, 2000, 2000, 3000, 4000],
      startTime: 0,
      endTime: 12_000,
    };
    const s = summariseProfiles([profile]);
    expect(s.sampledMs).to.equal(12);
    expect(s.busyMs).to.equal(8);
    const self = new Map(s.selfByFunction.map((t) => [t.name, t.ms]));
    expect(self.get('outer src/a.js:10')).to.equal(1);
    expect(self.get('inner src/b.js:20')).to.equal(4);
    expect(self.get('writeBuffer (native) <- inner src/b.js:20')).to.equal(3);
    const total = new Map(s.totalByFunction.map((t) => [t.name, t.ms]));
    expect(total.get('outer src/a.js:10')).to.equal(8);
    expect(total.get('inner src/b.js:20')).to.equal(7);
    expect(new Map(s.selfByFile.map((t) => [t.name, t.ms])).get('src/b.js')).to.equal(4);
  });
});

describe('bench harness: load workers against a 3-node cluster', function () {
  this.timeout(180_000);
  let cluster: LocalCluster | undefined;
  let producer: LoadClient | undefined;
  let consumer: LoadClient | undefined;

  before(async () => {
    cluster = await LocalCluster.start({ prefix: 'skein-bench-test-' });
    [producer, consumer] = await Promise.all([LoadClient.start('producer'), LoadClient.start('consumer')]);
    const admin = new Skein({ brokers: cluster.brokers, clientId: 'bench-test' }).admin();
    await admin.connect();
    const configEntries = [{ name: 'min.insync.replicas', value: '2' }];
    await admin.createTopics({ topics: ['closed', 'paced'].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 3, configEntries })) });
    await admin.disconnect();
  });

  after(async () => {
    await Promise.all([producer?.close(), consumer?.close()]);
    await cluster?.stop();
  });

  it('reads back every record a closed-loop produce run had acknowledged', async () => {
    const brokers = (cluster as LocalCluster).brokers;
    const produced = await (producer as LoadClient).run(
      { kind: 'produce', brokers, topic: 'closed', acks: -1, valueBytes: 100, warmupMs: 0, durationMs: 1000, recordsPerSend: 100, sendsInFlight: 4, recordsMax: 5000 },
      60_000,
    );
    expect(produced.records).to.be.greaterThan(0).and.at.most(5000);
    expect(produced.bytes).to.equal(produced.records * 100);
    // Records acknowledged after the window closed are stored too: read what the log holds.
    const admin = new Skein({ brokers, clientId: 'bench-test' }).admin();
    await admin.connect();
    const stored = (await admin.fetchTopicOffsets('closed')).reduce((sum, o) => sum + o.high - o.low, 0);
    await admin.disconnect();
    expect(stored).to.be.at.least(produced.records);
    const consumed = await (consumer as LoadClient).run({ kind: 'consume', brokers, topic: 'closed', records: stored, timeoutMs: 60_000 }, 90_000);
    expect(consumed).to.include({ records: stored, bytes: stored * 100, complete: true });
  });

  it('paces an open-loop run: every record acknowledged and consumed, one latency sample each after the warm-up', async () => {
    const brokers = (cluster as LocalCluster).brokers;
    const consumed = (consumer as LoadClient).run({ kind: 'consume', brokers, topic: 'paced', records: 1000, timeoutMs: 60_000, latency: { measureFromMs: wallMs() } }, 90_000);
    const paced = await (producer as LoadClient).run({ kind: 'paced', brokers, topic: 'paced', ratePerS: 1000, valueBytes: 100, warmupMs: 500, durationMs: 500 }, 60_000);
    expect(paced).to.include({ sent: 1000, acked: 1000, failed: 0 });
    expect(paced.ack.count).to.equal(500);
    expect(paced.ack.p50Ms).to.be.greaterThan(0);
    const c = await consumed;
    expect(c).to.include({ records: 1000, complete: true });
    expect(c.e2e?.count).to.equal(1000);
  });
});

describe('bench harness: `npm run bench -- latency`', function () {
  this.timeout(180_000);

  it('runs the latency run alone on a cluster of its own: every record acknowledged and consumed, then stops it', async () => {
    const quiet = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    const result = await latencyBench({ progress: new ProgressLine(quiet), options: new Map(), quick: true });
    expect(result.figures['repeat']).to.equal(1);
    for (const key of ['ack_p50_ms', 'ack_p99_ms', 'e2e_p50_ms', 'e2e_p99_ms']) expect(result.figures[key], key).to.be.a('number').and.greaterThan(0);
    const ack = result.rows.find((r) => r.what.startsWith('produce->ack'));
    // --quick: 5 s of samples after the warm-up at 50,000 records/s, none failed.
    expect(ack?.note).to.include('250,000 samples/run').and.not.include('FAILED');
    expect(result.rows.find((r) => r.what.startsWith('produce->consume'))?.note).to.include('every record consumed');
    const left = await readdir(tmpdir()).then((names) => names.filter((n) => n.startsWith('skein-bench-latency-')));
    expect(left, 'the cluster directory is removed').to.deep.equal([]);
  });
});

describe('bench harness: the latency floor', function () {
  this.timeout(60_000);

  it('acknowledges every batch of the bare chain, one sample per batch due after the warm-up, and leaves nothing behind', async () => {
    const floor = await measureLatencyFloor(500, 1000);
    // 6 partitions, one batch each every 13 ms: about 6 x 1000 / 13 = 462 batches due in the window.
    expect(floor.count).to.be.closeTo(462, 6);
    expect(floor.dropped).to.equal(0);
    expect(floor.p50Ms).to.be.greaterThan(0).and.at.most(floor.p99Ms);
    const left = await readdir(tmpdir()).then((names) => names.filter((n) => n.startsWith('skein-bench-floor-')));
    expect(left, 'the files are removed').to.deep.equal([]);
  });
});
