/**
 * The client commands of `skein` (DESIGN.md §7): cluster info/quorum, topic create/list/describe/
 * delete/produce/consume, and the group commands (group-commands.ts). Each is a thin shell over the
 * client library (src/client) — the CLI speaks the same protocol as any application.
 *
 * Output: human-readable tables by default; `--json` prints one JSON document instead (for scripts).
 * `topic produce` reads one record per stdin line and ends with `produced N records`; it exits 1 with
 * the error when any record could not be acknowledged. `topic consume` prints one value per line
 * (with `--group`, as a member of a consumer group, committing what it printed).
 */
import { createInterface } from 'node:readline';
import { ConfigResourceType } from '../client/admin.js';
import { ConsumerEvents } from '../client/consumer-types.js';
import { flag, intOption, listOption, parse, required, stringOption, UsageError } from './args.js';
import { BROKERS_OPTION, printJson, skeinOf, withAdmin } from './client-common.js';
import { table } from './format.js';
import { GROUP_COMMANDS, GROUP_USAGE, consumeInGroup } from './group-commands.js';

export { DEFAULT_BROKERS } from './client-common.js';

export const CLIENT_USAGE = `  cluster info [--json]             brokers and the controller
  cluster quorum [--json]           the controller quorum: leader, epoch, high watermark, voters and lag
  topic create NAME [-p PARTITIONS] [-r REPLICAS] [-c key=value ...]
  topic list [--json]
  topic describe NAME [--json]      leader, replicas and ISR per partition, offsets, configs
  topic delete NAME
  topic produce NAME [--acks all|1|0] [--key K] [--partition P]
                                    one record per stdin line; ends with "produced N records"
  topic consume NAME [--from-beginning] [-n N] [--partition P | --group G] [--timeout-ms MS]
                                    one value per line; with --group, in a consumer group
                                    (commits what it printed)
${GROUP_USAGE}`;

// ---- cluster ----------------------------------------------------------------------------------------

async function clusterInfo(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { ...BROKERS_OPTION, json: { type: 'boolean' } }, 0);
  const info = await withAdmin(parsed, (admin) => admin.describeCluster());
  if (flag(parsed, 'json')) return (printJson(info), 0);
  console.log(`cluster ${info.clusterId}, controller ${info.controller === -1 ? 'none' : info.controller}`);
  console.log(table(['BROKER', 'URL', 'RACK', 'STATE'], info.brokers.map((b) => [b.nodeId, b.url, b.rack === '' ? '-' : b.rack, b.fenced ? 'fenced' : 'running'])));
  return 0;
}

async function clusterQuorum(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { ...BROKERS_OPTION, json: { type: 'boolean' } }, 0);
  const q = await withAdmin(parsed, (admin) => admin.describeQuorum());
  if (flag(parsed, 'json')) return (printJson(q), 0);
  console.log(`leader ${q.leaderId}, epoch ${q.term}, high watermark ${q.highWatermark}`);
  const rows = [
    ...q.voters.map((r) => [r.id, 'voter', r.logEndOffset, r.lag, r.lastContactMs < 0 ? '-' : `${r.lastContactMs} ms`]),
    ...q.observers.map((r) => [r.id, 'observer', r.logEndOffset, r.lag, r.lastContactMs < 0 ? '-' : `${r.lastContactMs} ms`]),
  ];
  console.log(table(['NODE', 'ROLE', 'LOG END', 'LAG', 'LAST CONTACT'], rows));
  return 0;
}

// ---- topic admin ------------------------------------------------------------------------------------

function parseConfigEntries(entries: readonly string[]): { name: string; value: string }[] {
  return entries.map((e) => {
    const eq = e.indexOf('=');
    if (eq <= 0) throw new UsageError(`-c takes key=value, got '${e}'`);
    return { name: e.slice(0, eq), value: e.slice(eq + 1) };
  });
}

async function topicCreate(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { ...BROKERS_OPTION, partitions: { type: 'string', short: 'p' }, replicas: { type: 'string', short: 'r' }, config: { type: 'string', short: 'c', multiple: true } }, 1);
  const topic = required(parsed, 0, 'topic NAME');
  const numPartitions = intOption(parsed, 'partitions', -1, 1, 100_000);
  const replicationFactor = intOption(parsed, 'replicas', -1, 1, 64);
  const configEntries = parseConfigEntries(listOption(parsed, 'config'));
  const created = await withAdmin(parsed, (admin) => admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor, configEntries }] }));
  if (!created) {
    console.error(`topic ${topic} already exists`);
    return 1;
  }
  const meta = await withAdmin(parsed, (admin) => admin.fetchTopicMetadata({ topics: [topic] }));
  const t = meta.topics[0];
  const rf = t?.partitions[0]?.replicas.length ?? replicationFactor;
  console.log(`created topic ${topic} (${t?.partitions.length ?? numPartitions} partitions, replication factor ${rf})`);
  return 0;
}

async function topicList(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { ...BROKERS_OPTION, json: { type: 'boolean' } }, 0);
  const topics = (await withAdmin(parsed, (admin) => admin.listTopics())).filter((t) => !t.startsWith('__')).sort();
  if (flag(parsed, 'json')) return (printJson(topics), 0);
  for (const t of topics) console.log(t);
  return 0;
}

async function topicDescribe(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { ...BROKERS_OPTION, json: { type: 'boolean' } }, 1);
  const topic = required(parsed, 0, 'topic NAME');
  const { meta, offsets, configs } = await withAdmin(parsed, async (admin) => ({
    meta: await admin.fetchTopicMetadata({ topics: [topic] }),
    offsets: await admin.fetchTopicOffsets(topic),
    configs: await admin.describeConfigs({ resources: [{ type: ConfigResourceType.TOPIC, name: topic }] }),
  }));
  const t = meta.topics[0];
  if (t === undefined) throw new Error(`no metadata for topic ${topic}`);
  const overrides = (configs.resources[0]?.configEntries ?? []).filter((c) => c.configSource === 'topic');
  if (flag(parsed, 'json')) return (printJson({ ...t, offsets, configs: Object.fromEntries(overrides.map((c) => [c.configName, c.configValue])) }), 0);
  const offsetOf = new Map(offsets.map((o) => [o.partition, o]));
  console.log(`topic ${t.name}, id ${t.topicId}, ${t.partitions.length} partitions, replication factor ${t.partitions[0]?.replicas.length ?? 0}`);
  if (overrides.length > 0) console.log(`configs: ${overrides.map((c) => `${c.configName}=${c.configValue}`).join(', ')}`);
  const rows = t.partitions.map((p) => {
    const o = offsetOf.get(p.partitionId);
    return [p.partitionId, p.leader === -1 ? 'none' : p.leader, p.leaderEpoch, p.replicas.join(','), p.isr.join(','), o?.low ?? '-', o?.high ?? '-'];
  });
  console.log(table(['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'LOG START', 'HIGH WATERMARK'], rows));
  return 0;
}

async function topicDelete(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, BROKERS_OPTION, 1);
  const topic = required(parsed, 0, 'topic NAME');
  await withAdmin(parsed, (admin) => admin.deleteTopics({ topics: [topic] }));
  console.log(`deleted topic ${topic}`);
  return 0;
}

// ---- produce and consume ------------------------------------------------------------------------------

const PRODUCE_CHUNK_LINES = 1000;
const PRODUCE_IN_FLIGHT_MAX = 32;

function acksOf(raw: string | undefined): -1 | 0 | 1 {
  if (raw === undefined || raw === 'all' || raw === '-1') return -1;
  if (raw === '1') return 1;
  if (raw === '0') return 0;
  throw new UsageError(`--acks must be all, 1 or 0, got '${raw}'`);
}

async function topicProduce(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { ...BROKERS_OPTION, acks: { type: 'string' }, key: { type: 'string' }, partition: { type: 'string' } }, 1);
  const topic = required(parsed, 0, 'topic NAME');
  const acks = acksOf(stringOption(parsed, 'acks'));
  const key = stringOption(parsed, 'key') ?? null;
  const partition = intOption(parsed, 'partition', -1, 0, 100_000);
  const producer = skeinOf(parsed).producer({ acks, idempotent: acks === -1 });
  await producer.connect();
  let produced = 0;
  let failure: unknown;
  const inFlight = new Set<Promise<void>>();
  const send = (lines: string[]): Promise<void> => {
    const messages = lines.map((value) => ({ key, value, ...(partition >= 0 ? { partition } : {}) }));
    const p = producer.send({ topic, messages, acks }).then(
      () => {
        produced += lines.length;
      },
      (e: unknown) => {
        failure ??= e;
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    return tracked;
  };
  let chunk: string[] = [];
  const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of input) {
    if (failure !== undefined) break;
    chunk.push(line);
    if (chunk.length >= PRODUCE_CHUNK_LINES) {
      void send(chunk);
      chunk = [];
      while (inFlight.size >= PRODUCE_IN_FLIGHT_MAX) await Promise.race(inFlight);
    }
  }
  if (chunk.length > 0 && failure === undefined) void send(chunk);
  await Promise.all(inFlight);
  await producer.disconnect();
  if (failure !== undefined) {
    console.error(`produced ${produced} records; then failed: ${failure instanceof Error ? `${(failure as { code?: string }).code ?? failure.name}: ${failure.message}` : String(failure)}`);
    return 1;
  }
  console.log(`produced ${produced} records${acks === 0 ? ' (acks=0: sent, not confirmed)' : ''}`);
  return 0;
}

async function topicConsume(argv: readonly string[]): Promise<number> {
  const parsed = parse(
    argv,
    {
      ...BROKERS_OPTION,
      'from-beginning': { type: 'boolean' },
      n: { type: 'string', short: 'n' },
      partition: { type: 'string' },
      'timeout-ms': { type: 'string' },
      group: { type: 'string' },
      'session-timeout-ms': { type: 'string' },
    },
    1,
  );
  const topic = required(parsed, 0, 'topic NAME');
  const limit = intOption(parsed, 'n', 0, 1, Number.MAX_SAFE_INTEGER);
  const partition = intOption(parsed, 'partition', -1, 0, 100_000);
  const timeoutMs = intOption(parsed, 'timeout-ms', 0, 1, 2 ** 31 - 1);
  const groupId = stringOption(parsed, 'group');
  const sessionTimeoutMs = intOption(parsed, 'session-timeout-ms', 0, 6_000, 300_000);
  if (groupId !== undefined) {
    if (partition >= 0) throw new UsageError('--partition and --group do not go together: the group assigns the partitions');
    return consumeInGroup(parsed, { topic, groupId, fromBeginning: flag(parsed, 'from-beginning'), limit, timeoutMs, sessionTimeoutMs });
  }
  if (sessionTimeoutMs !== 0) throw new UsageError('--session-timeout-ms needs --group');
  const consumer = skeinOf(parsed).consumer();
  await consumer.connect();
  await consumer.assign([{ topic, fromBeginning: flag(parsed, 'from-beginning'), ...(partition >= 0 ? { partitions: [partition] } : {}) }]);
  const decoder = new TextDecoder();
  let count = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finished = new Promise<string>((resolve) => {
    const armTimeout = (): void => {
      if (timeoutMs === 0) return;
      clearTimeout(timer);
      timer = setTimeout(() => resolve(`no message for ${timeoutMs} ms`), timeoutMs);
    };
    armTimeout();
    process.once('SIGINT', () => resolve('interrupted'));
    // run() resolves once started: a later failure arrives as CRASH. Truncation and resets are told.
    consumer.on(ConsumerEvents.CRASH, ({ payload }) => resolve(`error: ${payload.error.message}`));
    consumer.on(ConsumerEvents.TRUNCATION, ({ payload }) =>
      console.error(`partition ${payload.partition}: the log was truncated under offset ${payload.fromOffset}; continuing from ${payload.toOffset}`),
    );
    consumer.on(ConsumerEvents.OFFSET_RESET, ({ payload }) => console.error(`partition ${payload.partition}: offset ${payload.fromOffset} out of range, reset to ${payload.policy}`));
    void consumer
      .run({
        eachMessage: async ({ message }) => {
          if (limit > 0 && count >= limit) return;
          count++;
          process.stdout.write(`${message.value === null ? '' : decoder.decode(message.value)}\n`);
          armTimeout();
          if (limit > 0 && count >= limit) resolve('limit');
        },
      })
      .catch((e: unknown) => resolve(`error: ${e instanceof Error ? e.message : String(e)}`));
  });
  const reason = await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  if (reason.startsWith('error: ')) {
    console.error(`consumed ${count} records; then ${reason}`);
    return 1;
  }
  console.error(`consumed ${count} records${reason === 'limit' ? '' : ` (${reason})`}`);
  return 0;
}

export const CLIENT_COMMANDS: ReadonlyArray<readonly [string, { readonly run: (argv: readonly string[]) => Promise<number>; readonly usage: string }]> = [
  ['cluster info', { run: clusterInfo, usage: 'usage: skein cluster info [--json] [--brokers URLS]' }],
  ['cluster quorum', { run: clusterQuorum, usage: 'usage: skein cluster quorum [--json] [--brokers URLS]' }],
  ['topic create', { run: topicCreate, usage: 'usage: skein topic create NAME [-p PARTITIONS] [-r REPLICAS] [-c key=value ...] [--brokers URLS]' }],
  ['topic list', { run: topicList, usage: 'usage: skein topic list [--json] [--brokers URLS]' }],
  ['topic describe', { run: topicDescribe, usage: 'usage: skein topic describe NAME [--json] [--brokers URLS]' }],
  ['topic delete', { run: topicDelete, usage: 'usage: skein topic delete NAME [--brokers URLS]' }],
  ['topic produce', { run: topicProduce, usage: 'usage: skein topic produce NAME [--acks all|1|0] [--key K] [--partition P] [--brokers URLS]' }],
  [
    'topic consume',
    {
      run: topicConsume,
      usage: 'usage: skein topic consume NAME [--from-beginning] [-n N] [--partition P | --group G [--session-timeout-ms MS]] [--timeout-ms MS] [--brokers URLS]',
    },
  ],
  ...GROUP_COMMANDS,
];
