/**
 * The node V8 flags (src/cli/node-flags.ts) and when `skein node` relaunches itself to get them
 * (src/cli/node-relaunch.ts). The processes themselves are tested in test/e2e/node-command.test.ts.
 */
import { expect } from 'chai';
import { UsageError } from '../../src/cli/args.js';
import { DEFAULT_NODE_V8_FLAGS, nodeProcessArgs, nodeV8Flags } from '../../src/cli/node-flags.js';
import { missingNodeFlags } from '../../src/cli/node-relaunch.js';

describe('node V8 flags', () => {
  it('defaults to single-threaded GC without incremental marking', () => {
    expect(nodeV8Flags({})).to.deep.equal(['--single-threaded-gc', '--no-incremental-marking']);
    expect(nodeProcessArgs('bin/skein.js', 'c.json', {})).to.deep.equal(['--single-threaded-gc', '--no-incremental-marking', 'bin/skein.js', 'node', '--config', 'c.json']);
  });

  it('SKEIN_NODE_V8_FLAGS replaces the default; empty means none', () => {
    expect(nodeV8Flags({ SKEIN_NODE_V8_FLAGS: ' --max-old-space-size=512  --no-concurrent-marking ' })).to.deep.equal(['--max-old-space-size=512', '--no-concurrent-marking']);
    expect(nodeV8Flags({ SKEIN_NODE_V8_FLAGS: '' })).to.deep.equal([]);
    expect(nodeProcessArgs('s', 'c', { SKEIN_NODE_V8_FLAGS: '' })).to.deep.equal(['s', 'node', '--config', 'c']);
  });

  it('refuses an override that is not a list of --flags, naming the offending word', () => {
    for (const bad of ['single-threaded-gc', '--ok -x', '--eval=1 ;rm', '--', '--=3']) {
      expect(() => nodeV8Flags({ SKEIN_NODE_V8_FLAGS: bad }), bad).to.throw(UsageError, /SKEIN_NODE_V8_FLAGS: '.+' is not a --flag/);
    }
  });

  it('asks for a relaunch only when a flag is missing and the process is not already relaunched', () => {
    expect(missingNodeFlags([], {})).to.deep.equal(DEFAULT_NODE_V8_FLAGS);
    expect(missingNodeFlags(['--single-threaded-gc'], {})).to.deep.equal(['--no-incremental-marking']);
    expect(missingNodeFlags(['--no-incremental-marking', '--inspect', '--single-threaded-gc'], {})).to.deep.equal([]);
    expect(missingNodeFlags([], { SKEIN_NODE_V8_FLAGS: '' })).to.deep.equal([]);
    expect(missingNodeFlags(['--a'], { SKEIN_NODE_V8_FLAGS: '--a --b' })).to.deep.equal(['--b']);
    expect(missingNodeFlags([], { SKEIN_NODE_RELAUNCHED: '1' })).to.deep.equal([]);
  });
});
