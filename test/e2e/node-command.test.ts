/**
 * `skein node` as a process, started by hand the way the README says, for the node V8 flags
 * (src/cli/node-flags.ts, src/cli/node-relaunch.ts):
 * - without the flags it runs the node in a child that has them: the pid file names the child, whose
 *   command line carries them; a Ctrl-C (SIGINT) to the command gives a controlled shutdown and exit 0;
 * - `SKEIN_NODE_V8_FLAGS=""` runs the node in the command's own process;
 * - a bad `SKEIN_NODE_V8_FLAGS` exits 2 naming it, and creates no data directory.
 * Nothing asserts on timing; waits are bounded.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_NODE_V8_FLAGS } from '../../src/cli/node-flags.js';
import { generateClusterId, writeNodeConfigFile } from '../../src/node/node-config.js';
import { waitUntil } from '../support/test-nodes.js';
import { alive, freePortRange, SKEIN_BIN } from './cluster-processes.js';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function startNodeCommand(configPath: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, [SKEIN_BIN, 'node', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

const commandLine = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('end to end: skein node started by hand', function () {
  this.timeout(60_000);
  let dir: string;
  let configPath: string;
  let dataDir: string;
  const started: Started[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skein-node-command-'));
    const [port] = [await freePortRange(1)] as [number];
    dataDir = join(dir, 'data');
    configPath = join(dir, 'config.json');
    await writeNodeConfigFile(configPath, {
      nodeId: 1,
      roles: ['controller', 'broker'],
      voters: [{ id: 1, url: `ws://127.0.0.1:${port}` }],
      listen: { host: '127.0.0.1', port },
      dataDir,
      clusterId: generateClusterId(),
    });
  });

  afterEach(async () => {
    for (const s of started.splice(0)) {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    }
    const pidFile = join(dataDir, 'pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('relaunches itself with the node flags; the pid file names the node; SIGINT stops both, exit 0', async () => {
    const s = startNodeCommand(configPath, {});
    started.push(s);
    await waitUntil('listening on', () => s.output().includes('listening on'), 30_000);
    const pid = Number(readFileSync(join(dataDir, 'pid'), 'utf8'));
    expect(pid).to.not.equal(s.child.pid);
    for (const flag of DEFAULT_NODE_V8_FLAGS) {
      expect(commandLine(pid)).to.include(flag);
      expect(commandLine(s.child.pid as number)).to.not.include(flag);
    }
    s.child.kill('SIGINT');
    expect(await s.exited, `exit code; the command printed:\n${s.output()}`).to.equal(0);
    expect(s.output()).to.match(/SIGINT, controlled shutdown[\s\S]*node 1 stopped/);
    expect(s.output()).to.not.include('again, exiting now'); // the signal reached the node once
    expect(alive(pid)).to.equal(false);
    expect(existsSync(join(dataDir, 'pid'))).to.equal(false);
  });

  it('runs the node in its own process when SKEIN_NODE_V8_FLAGS is empty', async () => {
    const s = startNodeCommand(configPath, { SKEIN_NODE_V8_FLAGS: '' });
    started.push(s);
    await waitUntil('listening on', () => s.output().includes('listening on'), 30_000);
    expect(Number(readFileSync(join(dataDir, 'pid'), 'utf8'))).to.equal(s.child.pid);
    s.child.kill('SIGTERM');
    expect(await s.exited, `exit code; the command printed:\n${s.output()}`).to.equal(0);
  });

  it('refuses a bad SKEIN_NODE_V8_FLAGS with exit 2 before touching any data', async () => {
    const s = startNodeCommand(configPath, { SKEIN_NODE_V8_FLAGS: 'single-threaded-gc' });
    started.push(s);
    expect(await s.exited).to.equal(2);
    expect(s.output()).to.include("SKEIN_NODE_V8_FLAGS: 'single-threaded-gc' is not a --flag");
    expect(existsSync(dataDir)).to.equal(false);
  });
});
