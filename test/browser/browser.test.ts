/**
 * The client side of Skein in a real browser: headless Chromium (Debian's package, driven by
 * playwright-core) loads browser bundles built by scripts/bundle-browser.js from a local HTTP server
 * and talks to a real three-node cluster over the browser's own WebSocket.
 *
 * - The wire path alone: a bundle of openConnection + the record-batch codec (raw-client-entry.ts)
 *   creates a topic, produces with acks=all and fetches back through raw requests.
 * - The client library: the bundle of src/client (`Skein`) creates a topic with its admin, produces
 *   with its producer and consumes with its consumer.
 * Node checks what the page reports and, through its own connection, what the cluster stored.
 *
 * Setup (before): scripts/setup-browser-test.js finds Chromium or installs Debian's `chromium` with
 * apt-get; only where that is impossible (no apt, not root, apt failing) is the suite skipped, with the
 * reason printed. Everything started here is stopped in `after`, whatever happened.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BrowserTestCluster } from './browser-cluster.js';
import { bundle, serveFiles, setUpChromium } from './browser-setup.js';
import type { RawRoundTripResult } from './raw-client-entry.js';

/** What a root Chromium in a closed network needs (see the machine notes): no sandbox, no background traffic. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('browser: Skein in headless Chromium', function () {
  this.timeout(120_000);

  let dir: string | undefined;
  let server: { url: string; close(): Promise<void> } | undefined;
  let cluster: BrowserTestCluster | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  before(async function () {
    // Installing Chromium with apt takes ~20 s here, minutes on a slow mirror; later runs find it at once.
    this.timeout(12 * 60_000);
    const t0 = Date.now();
    const setup = await setUpChromium();
    if ('skip' in setup) {
      console.log(`      browser test skipped: ${setup.skip}`);
      this.skip();
    }
    const t1 = Date.now();
    dir = await mkdtemp(join(tmpdir(), 'skein-browser-bundle-'));
    const summaries = await Promise.all([bundle('test/browser/raw-client-entry.ts', join(dir, 'raw.js')), bundle('src/client/index.ts', join(dir, 'skein.js'))]);
    const t2 = Date.now();
    server = await serveFiles(new Map(['raw.js', 'raw.js.map', 'skein.js', 'skein.js.map'].map((f) => [`/${f}`, join(dir as string, f)])));
    cluster = await BrowserTestCluster.start();
    const t3 = Date.now();
    browser = await chromium.launch({ executablePath: setup.chromium, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    await page.goto(server.url);
    const t4 = Date.now();
    console.log(
      `      chromium ${setup.chromium} (${setup.installed ? `installed in ${setup.ms} ms` : 'already there'}); setup ${t1 - t0} ms, bundles ${t2 - t1} ms [${summaries.join('; ')}], cluster ${t3 - t2} ms, browser ${t4 - t3} ms`,
    );
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await cluster?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && pageErrors.length > 0) console.log(`      page errors:\n${pageErrors.join('\n')}`);
    pageErrors.length = 0;
  });

  it('produces and fetches with raw wire requests over the browser WebSocket (openConnection bundled)', async () => {
    const c = cluster as BrowserTestCluster;
    const values = Array.from({ length: 20 }, (_, i) => `raw value ${i} ✓`);
    const result = await page.evaluate(
      async ({ brokers, topic, values }) => {
        const url = '/raw.js';
        const m = await import(url);
        // The page has no Node: the bundle must have chosen the browser's WebSocket.
        if (typeof (globalThis as { process?: unknown }).process !== 'undefined') throw new Error('process exists in the page');
        return m.rawRoundTrip(brokers, topic, values) as Promise<RawRoundTripResult>;
      },
      { brokers: c.urls, topic: 'browser-raw', values },
    );
    expect(result.clusterId).to.equal('browser-test');
    expect(result.consumed).to.deep.equal(values);
    // Node reads what the browser wrote, through ws.
    const stored = await c.readAll('browser-raw', 0);
    expect(stored.map(([, v]) => v)).to.deep.equal(values);
    expect(stored[0]?.[0]).to.equal(result.baseOffset);
    expect(pageErrors).to.deep.equal([]);
  });

  it('creates a topic, produces and consumes with the bundled client library (new Skein({ brokers }))', async () => {
    const c = cluster as BrowserTestCluster;
    const topic = 'browser-skein';
    const values = Array.from({ length: 30 }, (_, i) => `skein value ${i} ✓`);
    const result = await page.evaluate(
      async ({ brokers, topic, values }) => {
        const url = '/skein.js';
        const { Skein, messageText } = await import(url);
        const skein = new Skein({ brokers, clientId: 'browser-skein' });
        const admin = skein.admin();
        const producer = skein.producer();
        const consumer = skein.consumer();
        try {
          const created: boolean = await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] });
          await producer.connect();
          // Keys spread the records over the partitions (murmur2); acks=all.
          const sent: Array<{ topic: string; partition: number; baseOffset: number }> = await producer.send({
            topic,
            acks: -1,
            messages: values.map((value, i) => ({ key: `key-${i}`, value, headers: { from: 'chromium' } })),
          });
          await consumer.connect();
          await consumer.assign([{ topic, fromBeginning: true }]);
          const consumed: Array<{ partition: number; offset: number; key: string; value: string; from: string }> = [];
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`consumed ${consumed.length} of ${values.length} within 30 s`)), 30_000);
            consumer.on('consumer.crash', (event: { payload: { error: Error } }) => reject(event.payload.error));
            consumer
              .run({
                eachMessage: async ({ partition, message }: { partition: number; message: { offset: number; key: Uint8Array; value: Uint8Array; headers: Record<string, Uint8Array> } }) => {
                  consumed.push({ partition, offset: message.offset, key: messageText(message.key), value: messageText(message.value), from: messageText(message.headers.from) });
                  if (consumed.length === values.length) {
                    clearTimeout(timer);
                    resolve();
                  }
                },
              })
              .catch(reject);
          });
          return { created, sent, consumed };
        } finally {
          await consumer.disconnect();
          await producer.disconnect();
          await admin.disconnect();
        }
      },
      { brokers: c.urls, topic, values },
    );
    expect(result.created).to.equal(true);
    expect(result.sent.map((r) => r.topic)).to.satisfy((topics: string[]) => topics.every((t) => t === topic));
    // Every value came back once, with its key and header, in offset order within each partition.
    expect(result.consumed.map((m) => m.value).sort()).to.deep.equal([...values].sort());
    for (const m of result.consumed) {
      expect(m.key).to.equal(`key-${values.indexOf(m.value)}`);
      expect(m.from).to.equal('chromium');
    }
    const partitions = [...new Set(result.consumed.map((m) => m.partition))].sort();
    expect(partitions.length, 'keys spread over several partitions').to.be.greaterThan(1);
    for (const p of partitions) {
      const inPartition = result.consumed.filter((m) => m.partition === p);
      expect(inPartition.map((m) => m.offset)).to.deep.equal([...inPartition.map((m) => m.offset)].sort((a, b) => a - b));
      // Node reads the same partition through ws and finds exactly what the browser consumed.
      const stored = await c.readAll(topic, p);
      expect(stored).to.deep.equal(inPartition.map((m) => [m.offset, m.value]));
    }
    expect(result.sent.map((r) => r.partition).sort()).to.deep.equal(partitions);
    expect(pageErrors).to.deep.equal([]);
  });
});
