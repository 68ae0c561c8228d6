/**
 * Summaries of V8 CPU profiles (`node --cpu-prof` writes `*.cpuprofile`): where the time went, as
 * self time per function and per source file, and inclusive ("total") time per function, merged over
 * one or more profiles. Used by `npm run bench -- profile`; also a command of its own:
 * `node dist/bench/cpu-profile.js FILE.cpuprofile...` prints the summary of those files.
 *
 * Self time of a sample goes to the frame on top of the stack; inclusive time to every distinct
 * function on the stack (a recursive function counts once per sample). `(idle)` is time the thread
 * waited for I/O; a native frame's self time is named with its nearest caller outside node's own
 * modules (`writeBuffer (native) <- writeChunk src/node/node-log-fs.js:120`); `(program)` is native work V8 could not attribute (much of it libuv and syscalls);
 * `(garbage collector)` is GC. Sample times come from `timeDeltas` (µs), not from a fixed interval.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface TimeShare {
  readonly name: string;
  readonly ms: number;
}

export interface ProfileSummary {
  /** Wall time covered by the samples, ms (summed over the profiles). */
  readonly sampledMs: number;
  /** Sampled time minus (idle): time the thread was busy, ms. */
  readonly busyMs: number;
  readonly selfByFunction: readonly TimeShare[];
  readonly selfByFile: readonly TimeShare[];
  readonly totalByFunction: readonly TimeShare[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** `src/partitions/replica.js` from a file:// URL under dist/, `node:internal/...` as is. */
function shortFile(url: string): string {
  if (url === '') return '(native)';
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + 1);
  return url;
}

function functionKey(node: ProfileNode): string {
  const f = node.callFrame;
  if (SPECIAL.has(f.functionName)) return f.functionName;
  if (f.url === '') return `${f.functionName} (native)`;
  return `${f.functionName === '' ? '(anonymous)' : f.functionName} ${shortFile(f.url)}:${f.lineNumber + 1}`;
}

/** Native frames say little alone (writeBuffer: a file or a socket?): name their nearest JS caller. */
function selfKey(node: ProfileNode, byId: ReadonlyMap<number, ProfileNode>, parent: ReadonlyMap<number, number>): string {
  const key = functionKey(node);
  if (node.callFrame.url !== '' || SPECIAL.has(node.callFrame.functionName)) return key;
  for (let id = parent.get(node.id); id !== undefined; id = parent.get(id)) {
    const caller = byId.get(id) as ProfileNode;
    if (caller.callFrame.url !== '' && !caller.callFrame.url.startsWith('node:')) return `${key} <- ${functionKey(caller)}`;
  }
  return key;
}

function fileKey(node: ProfileNode): string {
  const f = node.callFrame;
  return SPECIAL.has(f.functionName) ? f.functionName : shortFile(f.url);
}

function sorted(map: ReadonlyMap<string, number>): TimeShare[] {
  return [...map].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
}

export function summariseProfiles(profiles: readonly CpuProfile[]): ProfileSummary {
  const selfFn = new Map<string, number>();
  const selfFile = new Map<string, number>();
  const totalFn = new Map<string, number>();
  let sampledUs = 0;
  let idleUs = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
    for (let i = 0; i < profile.samples.length; i++) {
      const us = profile.timeDeltas[i] ?? 0;
      if (us <= 0) continue;
      const node = byId.get(profile.samples[i] as number);
      if (node === undefined) continue;
      sampledUs += us;
      const key = selfKey(node, byId, parent);
      if (key === '(idle)') idleUs += us;
      selfFn.set(key, (selfFn.get(key) ?? 0) + us);
      const file = fileKey(node);
      selfFile.set(file, (selfFile.get(file) ?? 0) + us);
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
        const k = functionKey(byId.get(id) as ProfileNode);
        if (k === '(root)' || seen.has(k)) continue;
        seen.add(k);
        totalFn.set(k, (totalFn.get(k) ?? 0) + us);
      }
    }
  }
  return { sampledMs: sampledUs / 1000, busyMs: (sampledUs - idleUs) / 1000, selfByFunction: sorted(selfFn), selfByFile: sorted(selfFile), totalByFunction: sorted(totalFn) };
}

export async function readProfile(path: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
}

/** The summary as text: the top `top` of each list, with each share of the busy time. */
export function formatSummary(title: string, s: ProfileSummary, top = 25): string {
  const share = (ms: number): string => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / Math.max(1, s.busyMs)).toFixed(1).padStart(5)}%`;
  const list = (heading: string, items: readonly TimeShare[]): string[] => [heading, ...items.filter((i) => i.name !== '(idle)').slice(0, top).map((i) => `  ${share(i.ms)}  ${i.name}`)];
  return [
    `${title}: ${s.sampledMs.toFixed(0)} ms sampled, ${s.busyMs.toFixed(0)} ms busy (${((100 * s.busyMs) / Math.max(1, s.sampledMs)).toFixed(0)}%); shares are of busy time`,
    ...list('self time by function:', s.selfByFunction),
    ...list('self time by file:', s.selfByFile),
    ...list('total (inclusive) time by function:', s.totalByFunction),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node dist/bench/cpu-profile.js FILE.cpuprofile...');
    process.exit(2);
  }
  console.log(formatSummary(files.join(', '), summariseProfiles(await Promise.all(files.map(readProfile)))));
}
