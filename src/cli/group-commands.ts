/**
 * The consumer-group commands of `skein` (DESIGN.md §7): `group list`, `group describe G` (state,
 * members and their assignment; per partition the committed offset, the log end offset — the high
 * watermark — and the lag), `group reset-offsets`, `group delete`, and `topic consume NAME --group G`.
 *
 * `topic consume --group` prints one value per line and commits exactly what it printed: it resolves
 * each message's offset only once the line is written (eachBatch without auto-resolve), so the
 * positions it commits — every second, on a partition's revocation and when it exits (`-n N`, the
 * `--timeout-ms` silence, Ctrl-C) — never pass a record it did not print. After a kill -9 the group
 * resumes from the last commit: the records printed since are printed again, none is skipped.
 */
import type { GroupDescription } from '../client/group-admin.js';
import { ConsumerEvents } from '../client/consumer-types.js';
import { flag, intOption, parse, required, stringOption, UsageError, type Parsed } from './args.js';
import { BROKERS_OPTION, printJson, skeinOf, withAdmin } from './client-common.js';
import { table } from './format.js';

export const GROUP_USAGE = `  group list [--json]               consumer groups: state and members
  group describe G [--json]         members and their assignment; per partition the committed
                                    offset, log end offset and lag
  group reset-offsets G --topic T (--to-earliest | --to-latest | --to-offset N | --to-datetime MS)
                      [--partition P]
                                    only while the group has no members
  group delete G ...`;

/** How often `topic consume --group` commits what it printed. */
const CONSUME_AUTO_COMMIT_INTERVAL_MS = 1000;

// ---- topic consume --group ----------------------------------------------------------------------

export interface GroupConsumeOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly fromBeginning: boolean;
  /** Stop after this many records; 0 = no limit. */
  readonly limit: number;
  /** Stop after this long without a record; 0 = never. */
  readonly timeoutMs: number;
  /** 0 = the client default. */
  readonly sessionTimeoutMs: number;
}

export async function consumeInGroup(parsed: Parsed, o: GroupConsumeOptions): Promise<number> {
  const consumer = skeinOf(parsed).consumer({
    groupId: o.groupId,
    autoCommitIntervalMs: CONSUME_AUTO_COMMIT_INTERVAL_MS,
    ...(o.sessionTimeoutMs > 0 && { sessionTimeoutMs: o.sessionTimeoutMs }),
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.topic], fromBeginning: o.fromBeginning });
  const decoder = new TextDecoder();
  let count = 0;
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finished = new Promise<string>((resolve) => {
    const finish = (reason: string): void => {
      done = true;
      resolve(reason);
    };
    const armTimeout = (): void => {
      if (o.timeoutMs === 0) return;
      clearTimeout(timer);
      timer = setTimeout(() => finish(`no message for ${o.timeoutMs} ms`), o.timeoutMs);
    };
    armTimeout();
    process.once('SIGINT', () => finish('interrupted'));
    process.once('SIGTERM', () => finish('terminated'));
    consumer.on(ConsumerEvents.CRASH, ({ payload }) => finish(`error: ${payload.error.message}`));
    void consumer
      .run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, isStale, pause }) => {
          for (const message of batch.messages) {
            if (done || isStale()) break;
            process.stdout.write(`${message.value === null ? '' : decoder.decode(message.value)}\n`);
            // Only now may the commit cover it.
            resolveOffset(message.offset);
            count++;
            armTimeout();
            if (o.limit > 0 && count >= o.limit) finish('limit');
          }
          // Nothing more to print: hold the partition still (not resolved, so not committed) until exit.
          if (done) pause();
        },
      })
      .catch((e: unknown) => finish(`error: ${e instanceof Error ? e.message : String(e)}`));
  });
  const reason = await finished;
  clearTimeout(timer);
  // Waits for the batch being printed, commits what was printed, leaves the group.
  await consumer.disconnect();
  if (reason.startsWith('error: ')) {
    console.error(`consumed ${count} records; then ${reason}`);
    return 1;
  }
  console.error(`consumed ${count} records${reason === 'limit' ? '' : ` (${reason})`}`);
  return 0;
}

// ---- group list / describe ----------------------------------------------------------------------

async function groupList(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { ...BROKERS_OPTION, json: { type: 'boolean' } }, 0);
  const { groups } = await withAdmin(parsed, (admin) => admin.listGroups());
  if (flag(parsed, 'json')) return (printJson(groups), 0);
  if (groups.length === 0) {
    console.log('no consumer groups');
    return 0;
  }
  console.log(table(['GROUP', 'STATE', 'MEMBERS'], groups.map((g) => [g.groupId, g.state, g.members])));
  return 0;
}

interface PartitionRow {
  readonly topic: string;
  readonly partition: number;
  /** -1: nothing committed. */
  readonly offset: number;
  readonly logEndOffset: number;
  /** null when nothing is committed. */
  readonly lag: number | null;
  /** The member that owns it now, or null. */
  readonly memberId: string | null;
}

async function groupDescribe(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { ...BROKERS_OPTION, json: { type: 'boolean' } }, 1);
  const groupId = required(parsed, 0, 'group G');
  const { group, rows } = await withAdmin(parsed, async (admin) => {
    const group = (await admin.describeGroups([groupId])).groups[0]!;
    const committed = await admin.fetchOffsets({ groupId });
    const topics = new Set([...committed.map((t) => t.topic), ...group.members.flatMap((m) => [...m.subscribedTopics, ...m.assignment.map((a) => a.topic)])]);
    const owner = ownerOf(group);
    const rows: PartitionRow[] = [];
    for (const topic of [...topics].sort()) {
      const ends = await admin.fetchTopicOffsets(topic).catch(() => undefined);
      if (ends === undefined) continue; // deleted meanwhile: nothing to show
      const offsets = new Map((committed.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]));
      for (const end of ends) {
        const offset = offsets.get(end.partition) ?? -1;
        rows.push({
          topic,
          partition: end.partition,
          offset,
          logEndOffset: end.high,
          lag: offset < 0 ? null : Math.max(0, end.high - offset),
          memberId: owner.get(`${end.partition}:${topic}`) ?? null,
        });
      }
    }
    return { group, rows };
  });
  if (group.state === 'dead' && rows.length === 0) {
    console.error(`group ${groupId} does not exist`);
    return 1;
  }
  if (flag(parsed, 'json')) return (printJson({ ...group, partitions: rows }), 0);
  console.log(`group ${group.groupId}: ${group.state}, epoch ${group.groupEpoch}, assignor ${group.assignor === '' ? '-' : group.assignor}, ${group.members.length} member${group.members.length === 1 ? '' : 's'}`);
  if (group.members.length > 0) {
    console.log('');
    const members = group.members.map((m) => [
      m.memberId,
      m.instanceId === '' ? '-' : m.instanceId,
      m.clientId === '' ? '-' : m.clientId,
      m.memberEpoch,
      m.assignment.length === 0 ? '-' : m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' '),
    ]);
    console.log(table(['MEMBER', 'INSTANCE', 'CLIENT', 'EPOCH', 'ASSIGNMENT'], members));
  }
  if (rows.length > 0) {
    console.log('');
    const lines = rows.map((r) => [r.topic, r.partition, r.offset < 0 ? '-' : r.offset, r.logEndOffset, r.lag === null ? '-' : r.lag, r.memberId ?? '-']);
    console.log(table(['TOPIC', 'PARTITION', 'CURRENT OFFSET', 'LOG END OFFSET', 'LAG', 'MEMBER'], lines));
  }
  return 0;
}

/** The member owning each partition (key `<partition>:<topic>`). */
function ownerOf(group: GroupDescription): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of group.members) for (const a of m.assignment) for (const p of a.partitions) out.set(`${p}:${a.topic}`, m.memberId);
  return out;
}

// ---- group reset-offsets / delete ---------------------------------------------------------------

async function groupResetOffsets(argv: readonly string[]): Promise<number> {
  const parsed = parse(
    argv,
    {
      ...BROKERS_OPTION,
      topic: { type: 'string' },
      partition: { type: 'string' },
      'to-earliest': { type: 'boolean' },
      'to-latest': { type: 'boolean' },
      'to-offset': { type: 'string' },
      'to-datetime': { type: 'string' },
      json: { type: 'boolean' },
    },
    1,
  );
  const groupId = required(parsed, 0, 'group G');
  const topic = stringOption(parsed, 'topic');
  if (topic === undefined) throw new UsageError('--topic T is required');
  const partition = intOption(parsed, 'partition', -1, 0, 100_000);
  const toOffset = intOption(parsed, 'to-offset', -1, 0, Number.MAX_SAFE_INTEGER);
  const toDatetime = intOption(parsed, 'to-datetime', -1, 0, Number.MAX_SAFE_INTEGER);
  const chosen = [flag(parsed, 'to-earliest'), flag(parsed, 'to-latest'), toOffset >= 0, toDatetime >= 0].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime MS');
  const offsets = await withAdmin(parsed, async (admin) => {
    let target: Array<{ partition: number; offset: number }>;
    if (toOffset >= 0) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      target = (meta.topics[0]?.partitions ?? []).map((p) => ({ partition: p.partitionId, offset: toOffset }));
    } else if (toDatetime >= 0) {
      target = await admin.fetchTopicOffsetsByTimestamp(topic, toDatetime);
    } else {
      const ends = await admin.fetchTopicOffsets(topic);
      target = ends.map((e) => ({ partition: e.partition, offset: flag(parsed, 'to-earliest') ? e.low : e.high }));
    }
    if (partition >= 0) {
      target = target.filter((t) => t.partition === partition);
      if (target.length === 0) throw new UsageError(`topic ${topic} has no partition ${partition}`);
    }
    await admin.setOffsets({ groupId, topic, partitions: target });
    return target.sort((a, b) => a.partition - b.partition);
  });
  if (flag(parsed, 'json')) return (printJson(offsets.map((o) => ({ topic, ...o }))), 0);
  console.log(`group ${groupId}: offsets of ${topic} set`);
  console.log(table(['TOPIC', 'PARTITION', 'NEW OFFSET'], offsets.map((o) => [topic, o.partition, o.offset])));
  return 0;
}

async function groupDelete(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, BROKERS_OPTION, 100);
  const groupIds = parsed.positionals;
  if (groupIds.length === 0) throw new UsageError('missing group G');
  await withAdmin(parsed, (admin) => admin.deleteGroups(groupIds));
  for (const g of groupIds) console.log(`deleted group ${g}`);
  return 0;
}

export const GROUP_COMMANDS: ReadonlyArray<readonly [string, { readonly run: (argv: readonly string[]) => Promise<number>; readonly usage: string }]> = [
  ['group list', { run: groupList, usage: 'usage: skein group list [--json] [--brokers URLS]' }],
  ['group describe', { run: groupDescribe, usage: 'usage: skein group describe G [--json] [--brokers URLS]' }],
  [
    'group reset-offsets',
    {
      run: groupResetOffsets,
      usage: 'usage: skein group reset-offsets G --topic T (--to-earliest | --to-latest | --to-offset N | --to-datetime MS) [--partition P] [--json] [--brokers URLS]',
    },
  ],
  ['group delete', { run: groupDelete, usage: 'usage: skein group delete G ... [--brokers URLS]' }],
];
