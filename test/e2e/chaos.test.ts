/**
 * The chaos suite, short: `node dist/chaos/cli.js --duration 60 --seed 20251` — three real node
 * processes, every fault kind (kill -9, SIGSTOP, partitions, one-way partitions, slow links), the
 * idempotent acks=all producers and the consumers, then heal, converge, read everything back and check
 * the history with the simulator's checkers. It must end with 0 lost, 0 duplicates, 0 anomalies, at
 * least one fault of each kind, and leave no process and no cluster directory behind. Also: Ctrl-C in
 * the middle of a run stops every node process and removes the cluster directory.
 *
 * The long soak is one command (docs/guarantees.md): npm run chaos -- --duration 1800
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_KINDS } from '../../chaos/schedule.js';
import { alive } from './cluster-processes.js';

const CLI = fileURLToPath(new URL('../../chaos/cli.js', import.meta.url));

interface Running {
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  readonly kill: (signal: NodeJS.Signals) => void;
}

function startChaos(args: readonly string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output: () => out, exited, kill: (signal) => child.kill(signal) };
}

describe('chaos suite (real processes under faults)', function () {
  this.timeout(400_000);
  const outDirs: string[] = [];

  after(async () => {
    await Promise.all(outDirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('a 60 s run with every fault kind ends with 0 lost, 0 duplicates, 0 anomalies, and cleans up', async () => {
    const out = await mkdtemp(join(tmpdir(), 'skein-chaos-test-'));
    const run = startChaos(['--duration', '60', '--seed', '20251', '--out', out]);
    const code = await run.exited;
    const output = run.output();
    const lines = output.trim().split('\n');
    const last = lines[lines.length - 1] ?? '';
    const keep = (): string => `output kept in ${out}:\n${output}`;
    expect(last, keep()).to.match(/^chaos: \d+ faults, \d+ acknowledged, 0 lost, 0 duplicates, 0 anomalies$/);
    expect(code, keep()).to.equal(0);
    const acknowledged = Number(/(\d+) acknowledged/.exec(last)?.[1]);
    expect(acknowledged, 'records acknowledged under faults').to.be.greaterThan(1000);
    const faults = /^faults: \d+ \((.*)\)$/m.exec(output)?.[1] ?? '';
    for (const kind of FAULT_KINDS) expect(Number(new RegExp(`\\b${kind} (\\d+)`).exec(faults)?.[1]), `${kind} faults`).to.be.at.least(1);
    // The history is on disk and checks the same way offline.
    expect(readFileSync(join(out, 'history.jsonl'), 'utf8').split('\n').length).to.be.greaterThan(acknowledged);
    const recheck = startChaos(['--check', join(out, 'history.jsonl')]);
    expect(await recheck.exited).to.equal(0);
    expect(recheck.output().trim().split('\n').pop()).to.equal(last);
    // Nothing left behind: the cluster directory is gone.
    const dataDir = /nodes started in (\S+)/.exec(output)?.[1];
    expect(dataDir).to.be.a('string');
    expect(existsSync(dataDir as string), `${dataDir} removed`).to.equal(false);
    outDirs.push(out);
  });

  it('Ctrl-C stops every node process and removes the cluster directory', async () => {
    const out = await mkdtemp(join(tmpdir(), 'skein-chaos-test-'));
    outDirs.push(out);
    const run = startChaos(['--duration', '60', '--seed', '3', '--out', out]);
    const deadline = Date.now() + 60_000;
    while (!run.output().includes('workload running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const dataDir = /nodes started in (\S+)/.exec(run.output())?.[1];
    expect(dataDir, run.output()).to.be.a('string');
    const pids = [1, 2, 3].map((id) => Number(readFileSync(join(dataDir as string, `node-${id}`, 'pid'), 'utf8').trim()));
    expect(pids.every(alive)).to.equal(true);
    run.kill('SIGINT');
    expect(await run.exited).to.equal(130);
    expect(pids.filter(alive), 'node processes still alive').to.deep.equal([]);
    expect(existsSync(dataDir as string)).to.equal(false);
  });
});
