/**
 * Topic configuration: every known config's validation (good and bad values, type bounds), unknown
 * keys, min.insync.replicas against the replication factor, topic-name rules, the precedence of the
 * effective configuration, and the typed getters.
 */
import { expect } from 'chai';
import {
  TOPIC_CONFIGS,
  cleanupPolicy,
  deleteRetentionMs,
  effectiveConfig,
  flushPolicy,
  maxMessageBytes,
  messageTimestampType,
  minCleanableDirtyRatio,
  minCompactionLagMs,
  minInsyncReplicas,
  retentionBytes,
  retentionMs,
  segmentBytes,
  segmentMs,
  topicNamesCollide,
  uncleanLeaderElection,
  validateTopicConfigs,
  validateTopicName,
} from '../../src/metadata/topic-config.js';

const RF3 = { replicationFactor: 3 };

/** Good and bad values per config; every known config must appear here. */
const CASES: Record<string, { good: string[]; bad: string[] }> = {
  'cleanup.policy': {
    good: ['delete', 'compact', 'delete,compact', 'compact,delete', ' compact , delete '],
    bad: ['', 'Delete', 'remove', 'delete,delete', 'delete,', ','],
  },
  'retention.ms': {
    good: ['-1', '0', '604800000', '9223372036854775807', ' 1000 ', '+5'],
    bad: ['-2', '1.5', '1e3', 'forever', '', '9223372036854775808', '0x10'],
  },
  'retention.bytes': {
    good: ['-1', '0', '1073741824', '9223372036854775807'],
    bad: ['-2', 'lots', '', '9223372036854775808'],
  },
  'segment.bytes': {
    good: ['1048576', '1073741824', '2147483647'],
    bad: ['1048575', '14', '0', '-1', '2147483648', 'big'],
  },
  'segment.ms': {
    good: ['1', '604800000', '9223372036854775807'],
    bad: ['0', '-1', 'week', ''],
  },
  'min.insync.replicas': {
    good: ['1', '2', '3'],
    bad: ['0', '-1', 'two', '1.0', '2147483648'],
  },
  'unclean.leader.election.enable': {
    good: ['true', 'false', 'TRUE', 'False', ' true '],
    bad: ['yes', '1', '0', '', 'truee'],
  },
  'max.message.bytes': {
    good: ['0', '1048588', '2147483647'],
    bad: ['-1', '2147483648', 'MB'],
  },
  'delete.retention.ms': {
    good: ['0', '86400000', '9223372036854775807'],
    bad: ['-1', 'day', ''],
  },
  'min.cleanable.dirty.ratio': {
    good: ['0', '0.5', '1', '1.0', ' 0.25 ', '.75', '5e-1', '+0.1'],
    bad: ['-0.1', '1.01', 'half', '', '0x1', 'NaN', 'Infinity', '1e400'],
  },
  'min.compaction.lag.ms': {
    good: ['0', '1000', '9223372036854775807'],
    bad: ['-1', 'soon', '', '1.5'],
  },
  flush: {
    good: ['always', 'os'],
    bad: ['Always', 'never', 'fsync', ''],
  },
  'message.timestamp.type': {
    good: ['CreateTime', 'LogAppendTime'],
    bad: ['createtime', 'AppendTime', ''],
  },
};

describe('topic-config', () => {
  describe('TOPIC_CONFIGS', () => {
    it('knows exactly the documented configs, with Kafka defaults', () => {
      expect([...TOPIC_CONFIGS.keys()].sort()).to.deep.equal(Object.keys(CASES).sort());
      const defaults = Object.fromEntries([...TOPIC_CONFIGS.values()].map((d) => [d.name, d.default]));
      expect(defaults).to.deep.equal({
        'cleanup.policy': 'delete',
        'retention.ms': '604800000',
        'retention.bytes': '-1',
        'segment.bytes': '1073741824',
        'segment.ms': '604800000',
        'min.insync.replicas': '1',
        'unclean.leader.election.enable': 'false',
        'max.message.bytes': '1048588',
        'delete.retention.ms': '86400000',
        'min.cleanable.dirty.ratio': '0.5',
        'min.compaction.lag.ms': '0',
        flush: 'always',
        'message.timestamp.type': 'CreateTime',
      });
    });

    it('declares Kafka types', () => {
      const types = Object.fromEntries([...TOPIC_CONFIGS.values()].map((d) => [d.name, d.type]));
      expect(types).to.include({
        'cleanup.policy': 'list',
        'retention.ms': 'long',
        'segment.bytes': 'int',
        'min.insync.replicas': 'int',
        'unclean.leader.election.enable': 'boolean',
        flush: 'string',
      });
    });

    it('every default passes its own validation and every def has a doc', () => {
      for (const d of TOPIC_CONFIGS.values()) {
        expect(d.validate(d.default), d.name).to.equal(undefined);
        expect(d.doc.length, d.name).to.be.greaterThan(10);
      }
    });
  });

  describe('validateTopicConfigs', () => {
    for (const [name, { good, bad }] of Object.entries(CASES)) {
      it(`${name}: accepts ${good.map((v) => JSON.stringify(v)).join(' ')}`, () => {
        for (const value of good) {
          expect(validateTopicConfigs({ [name]: value }, RF3), `${name}=${value}`).to.equal(undefined);
        }
      });
      it(`${name}: rejects ${bad.map((v) => JSON.stringify(v)).join(' ')}`, () => {
        for (const value of bad) {
          const error = validateTopicConfigs({ [name]: value }, RF3);
          expect(error, `${name}=${value}`).to.not.equal(undefined);
          expect(error?.code).to.equal('INVALID_CONFIG');
          expect(error?.message).to.include(`'${name}'`).and.include(`'${value}'`).and.include('must');
        }
      });
    }

    it('states the rule in the message', () => {
      expect(validateTopicConfigs({ 'segment.bytes': '100' }, RF3)?.message).to.include('at least 1048576');
      expect(validateTopicConfigs({ 'retention.ms': '-5' }, RF3)?.message).to.include('at least -1');
      expect(validateTopicConfigs({ flush: 'never' }, RF3)?.message).to.include('always, os');
    });

    it('accepts an empty override set and a full valid one', () => {
      expect(validateTopicConfigs({}, RF3)).to.equal(undefined);
      const all = Object.fromEntries([...TOPIC_CONFIGS.values()].map((d) => [d.name, d.default]));
      expect(validateTopicConfigs(all, RF3)).to.equal(undefined);
    });

    it('rejects an unknown key, naming it and listing the known ones', () => {
      const error = validateTopicConfigs({ 'retention.ms': '1000', 'retention.hours': '5' }, RF3);
      expect(error?.code).to.equal('INVALID_CONFIG');
      expect(error?.message).to.include("'retention.hours'");
      for (const name of TOPIC_CONFIGS.keys()) expect(error?.message).to.include(name);
    });

    it('treats prototype property names as unknown keys', () => {
      expect(validateTopicConfigs({ constructor: 'x' }, RF3)?.message).to.include("'constructor'");
      expect(validateTopicConfigs({ toString: 'x' }, RF3)?.message).to.include("'toString'");
    });

    it('reports the same error whatever the insertion order', () => {
      const a = validateTopicConfigs({ 'segment.ms': '0', flush: 'never' }, RF3);
      const b = validateTopicConfigs({ flush: 'never', 'segment.ms': '0' }, RF3);
      expect(a).to.deep.equal(b);
    });

    it('rejects min.insync.replicas above the replication factor, allows it equal', () => {
      const error = validateTopicConfigs({ 'min.insync.replicas': '3' }, { replicationFactor: 2 });
      expect(error?.code).to.equal('INVALID_CONFIG');
      expect(error?.message).to.include("'min.insync.replicas'").and.include('replication factor 2');
      expect(validateTopicConfigs({ 'min.insync.replicas': '2' }, { replicationFactor: 2 })).to.equal(undefined);
      expect(validateTopicConfigs({ 'min.insync.replicas': '1' }, { replicationFactor: 1 })).to.equal(undefined);
    });

    it('checks an inherited cluster-default min.insync.replicas unless the topic overrides it', () => {
      const clusterDefaults = { 'min.insync.replicas': '2' };
      const inherited = validateTopicConfigs({}, { replicationFactor: 1, clusterDefaults });
      expect(inherited?.message).to.include('cluster default');
      expect(
        validateTopicConfigs({ 'min.insync.replicas': '1' }, { replicationFactor: 1, clusterDefaults }),
      ).to.equal(undefined);
      expect(validateTopicConfigs({}, { replicationFactor: 3, clusterDefaults })).to.equal(undefined);
    });
  });

  describe('validateTopicName', () => {
    it('accepts legal names', () => {
      for (const name of ['orders', 'a', 'A.b_c-9', '_single', 'x'.repeat(249), 'a..b', '...']) {
        expect(validateTopicName(name), name).to.equal(undefined);
      }
    });

    it('rejects the empty name', () => {
      expect(validateTopicName('')).to.include('empty');
    });

    it('rejects names longer than 249 characters', () => {
      expect(validateTopicName('x'.repeat(250))).to.include('249');
    });

    it('rejects "." and ".."', () => {
      expect(validateTopicName('.')).to.include('".."');
      expect(validateTopicName('..')).to.include('".."');
    });

    it('rejects characters outside [a-zA-Z0-9._-]', () => {
      for (const name of ['a b', 'a/b', 'topic!', 'ümlaut', 'a\nb', 'a:b', 'a*']) {
        expect(validateTopicName(name), JSON.stringify(name)).to.include('only ASCII letters');
      }
    });

    it('reserves the "__" prefix unless allowInternal', () => {
      expect(validateTopicName('__consumer_offsets')).to.include('reserved for internal topics');
      expect(validateTopicName('__consumer_offsets', { allowInternal: true })).to.equal(undefined);
      expect(validateTopicName('_x')).to.equal(undefined);
      // allowInternal does not lift the other rules
      expect(validateTopicName('__a b', { allowInternal: true })).to.include('only ASCII letters');
    });

    it('detects names that collide once "." and "_" are alike', () => {
      expect(topicNamesCollide('a.b', 'a_b')).to.equal(true);
      expect(topicNamesCollide('a.b', 'a.b')).to.equal(false);
      expect(topicNamesCollide('a.b', 'a-b')).to.equal(false);
    });
  });

  describe('effectiveConfig', () => {
    it('prefers topic overrides, then cluster defaults, then built-in defaults', () => {
      const cfg = effectiveConfig(
        { 'retention.ms': '1000', 'min.insync.replicas': '2' },
        { 'retention.ms': '5000', 'segment.ms': '60000', 'min.insync.replicas': '1' },
      );
      expect(cfg['retention.ms']).to.equal('1000');
      expect(cfg['min.insync.replicas']).to.equal('2');
      expect(cfg['segment.ms']).to.equal('60000');
      expect(cfg['segment.bytes']).to.equal('1073741824');
      expect(Object.keys(cfg)).to.deep.equal([...TOPIC_CONFIGS.keys()]);
    });

    it('ignores unknown names and prototype keys, and returns a fresh object', () => {
      const overrides = { 'future.config': 'x' };
      const cfg = effectiveConfig(overrides, { toString: 'y' });
      expect(cfg).to.not.have.own.property('future.config');
      expect(Object.keys(cfg)).to.deep.equal([...TOPIC_CONFIGS.keys()]);
      cfg['flush'] = 'os';
      expect(effectiveConfig({}, {})['flush']).to.equal('always');
    });
  });

  describe('typed getters', () => {
    it('return the built-in defaults for an empty config', () => {
      const cfg = effectiveConfig({}, {});
      expect(minInsyncReplicas(cfg)).to.equal(1);
      expect(uncleanLeaderElection(cfg)).to.equal(false);
      expect(retentionMs(cfg)).to.equal(604800000);
      expect(retentionBytes(cfg)).to.equal(-1);
      expect(segmentBytes(cfg)).to.equal(1073741824);
      expect(segmentMs(cfg)).to.equal(604800000);
      expect(maxMessageBytes(cfg)).to.equal(1048588);
      expect(deleteRetentionMs(cfg)).to.equal(86400000);
      expect(minCleanableDirtyRatio(cfg)).to.equal(0.5);
      expect(minCompactionLagMs(cfg)).to.equal(0);
      expect(flushPolicy(cfg)).to.equal('always');
      expect(messageTimestampType(cfg)).to.equal('CreateTime');
      expect([...cleanupPolicy(cfg)]).to.deep.equal(['delete']);
      // Missing keys fall back to built-in defaults too.
      expect(minInsyncReplicas({})).to.equal(1);
    });

    it('parse overridden values', () => {
      const cfg = effectiveConfig(
        {
          'min.insync.replicas': ' 2 ',
          'unclean.leader.election.enable': 'TRUE',
          'cleanup.policy': 'compact, delete',
          flush: 'os',
          'message.timestamp.type': 'LogAppendTime',
          'retention.ms': '-1',
          'min.cleanable.dirty.ratio': ' .25 ',
          'min.compaction.lag.ms': '60000',
        },
        {},
      );
      expect(minCleanableDirtyRatio(cfg)).to.equal(0.25);
      expect(minCompactionLagMs(cfg)).to.equal(60000);
      expect(minInsyncReplicas(cfg)).to.equal(2);
      expect(uncleanLeaderElection(cfg)).to.equal(true);
      expect([...cleanupPolicy(cfg)].sort()).to.deep.equal(['compact', 'delete']);
      expect(flushPolicy(cfg)).to.equal('os');
      expect(messageTimestampType(cfg)).to.equal('LogAppendTime');
      expect(retentionMs(cfg)).to.equal(-1);
    });

    it('saturate longs beyond 2^53 - 1', () => {
      const cfg = effectiveConfig({ 'retention.ms': '9223372036854775807' }, {});
      expect(retentionMs(cfg)).to.equal(Number.MAX_SAFE_INTEGER);
    });

    it('assert on a value that was stored without validation', () => {
      expect(() => minInsyncReplicas({ 'min.insync.replicas': 'zero' })).to.throw(/without validation/);
    });
  });
});
