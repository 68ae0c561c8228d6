/**
 * Unit tests of the record batch v2 codec (src/partitions/record-batch.ts) and Kafka's varints
 * (src/partitions/varint.ts). The golden vector below is built by hand from Kafka's
 * DefaultRecordBatch layout and checked with an independent bit-at-a-time CRC-32C: it is the
 * compatibility anchor with Kafka's format.
 */
import { expect } from 'chai';
import {
  BATCH_BYTES_MAX,
  BATCH_HEADER_BYTES,
  CorruptRecordError,
  decodeRecords,
  encodeRecordBatch,
  iterateBatches,
  readBatchHeader,
  stampBatch,
  validateBatch,
  type BatchHeader,
  type BatchOptions,
  type RecordInput,
} from '../../src/partitions/record-batch.js';
import { readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, VarintError, writeVarint, writeVarlong } from '../../src/partitions/varint.js';
import { AssertionError } from '../../src/util/assert.js';
import { crc32c } from '../../src/util/crc32c.js';

const enc = new TextEncoder();
const utf8 = (s: string): Uint8Array => enc.encode(s);

/** Bit-at-a-time CRC-32C (Castagnoli), independent of the table-driven one under test. */
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

/** Recomputes the CRC of the batch at 0 after a test edits covered bytes on purpose. */
function reseal(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(17, crc32c(bytes.subarray(21)));
  return bytes;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A batch whose records region is `recordBytes` as given (for malformed records), CRC valid. */
function craft(recordBytes: readonly number[], recordCount: number, lastOffsetDelta = recordCount - 1): Uint8Array {
  const header = encodeRecordBatch([], { timestampMs: 1000 });
  const bytes = new Uint8Array(BATCH_HEADER_BYTES + recordBytes.length);
  bytes.set(header);
  bytes.set(recordBytes, BATCH_HEADER_BYTES);
  const v = view(bytes);
  v.setInt32(8, bytes.length - 12);
  v.setInt32(23, lastOffsetDelta);
  v.setInt32(57, recordCount);
  return reseal(bytes);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function expectCorrupt(fn: () => unknown, pattern?: RegExp): CorruptRecordError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CorruptRecordError);
    const e = error as CorruptRecordError;
    expect(e.code).to.equal('CORRUPT_RECORD');
    if (pattern !== undefined) expect(e.message).to.match(pattern);
    return e;
  }
  expect.fail('expected a CorruptRecordError');
}

function valid(bytes: Uint8Array, position = 0): BatchHeader {
  const result = validateBatch(bytes, position);
  if (!result.ok) expect.fail(`expected a valid batch, got ${result.reason}: ${result.message}`);
  return result.header;
}

function bytesOf(b: Uint8Array | null): number[] | null {
  return b === null ? null : [...b];
}

/** Encode, validate, decode, and compare with the input. */
function roundTrip(records: readonly RecordInput[], options: BatchOptions): Uint8Array {
  const bytes = encodeRecordBatch(records, options);
  const header = valid(bytes);
  expect(header.sizeInBytes).to.equal(bytes.length);
  expect(header.recordCount).to.equal(records.length);
  const decoded = decodeRecords(bytes);
  expect(decoded.length).to.equal(records.length);
  decoded.forEach((d, i) => {
    const r = records[i]!;
    expect(d.offset).to.equal((options.baseOffset ?? 0) + i);
    const timestamp = r.timestamp ?? options.timestampMs;
    expect(d.timestamp).to.equal(options.timestampType === 'log-append' ? header.maxTimestamp : timestamp);
    expect(bytesOf(d.key)).to.deep.equal(bytesOf(r.key));
    expect(bytesOf(d.value)).to.deep.equal(bytesOf(r.value));
    expect(d.headers.map((h) => ({ key: h.key, value: bytesOf(h.value) }))).to.deep.equal(
      (r.headers ?? []).map((h) => ({ key: h.key, value: bytesOf(h.value) })),
    );
  });
  return bytes;
}

describe('varint (Kafka ByteUtils zigzag varint/varlong)', () => {
  it('writes the known encodings and sizes', () => {
    const cases: Array<[number, number[]]> = [
      [0, [0x00]],
      [-1, [0x01]],
      [1, [0x02]],
      [63, [0x7e]],
      [-64, [0x7f]],
      [64, [0x80, 0x01]],
      [300, [0xd8, 0x04]],
      [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
      [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
    ];
    for (const [value, expected] of cases) {
      const out = new Uint8Array(8);
      expect(writeVarint(out, 0, value), `end of ${value}`).to.equal(expected.length);
      expect([...out.subarray(0, expected.length)], `bytes of ${value}`).to.deep.equal(expected);
      expect(sizeOfVarint(value)).to.equal(expected.length);
      expect(readVarint(out, { pos: 0 }, out.length)).to.equal(value);
    }
  });

  it('round-trips varints and varlongs at every power-of-two boundary', () => {
    const ints: number[] = [];
    for (let k = 0; k <= 31; k++) ints.push(2 ** k - 1, -(2 ** k), k < 31 ? 2 ** k : 0);
    for (const value of ints) {
      const out = new Uint8Array(5);
      const end = writeVarint(out, 0, value);
      expect(end).to.equal(sizeOfVarint(value));
      const cursor = { pos: 0 };
      expect(readVarint(out, cursor, end)).to.equal(value);
      expect(cursor.pos).to.equal(end);
    }
    const longs: number[] = [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (let k = 0; k <= 52; k++) longs.push(2 ** k - 1, 2 ** k, -(2 ** k), -(2 ** k) - 1, 2 ** k + 1);
    for (const value of longs) {
      const out = new Uint8Array(10);
      const end = writeVarlong(out, 0, value);
      expect(end, `size of ${value}`).to.equal(sizeOfVarlong(value));
      const cursor = { pos: 0 };
      expect(readVarlong(out, cursor, end), `${value}`).to.equal(value);
      expect(cursor.pos).to.equal(end);
    }
    // Same bytes as the 32-bit code for values that fit both.
    const a = new Uint8Array(10);
    const b = new Uint8Array(10);
    writeVarlong(a, 0, -2147483648);
    writeVarint(b, 0, -2147483648);
    expect([...a]).to.deep.equal([...b]);
    // 2^53 - 1 -> zigzag 2^54 - 2: eight groups, the last holding bits 49..53 (0x1f).
    const max = new Uint8Array(10);
    expect(writeVarlong(max, 0, Number.MAX_SAFE_INTEGER)).to.equal(8);
    expect([...max.subarray(0, 8)]).to.deep.equal([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]);
  });

  it('rejects truncated, over-long and out-of-range encodings', () => {
    const bad = (bytes: number[], read: typeof readVarint): void => {
      expect(() => read(Uint8Array.from(bytes), { pos: 0 }, bytes.length)).to.throw(VarintError);
    };
    bad([], readVarint);
    bad([0x80], readVarint);
    bad([0xff, 0xff, 0xff, 0xff], readVarint);
    bad([0xff, 0xff, 0xff, 0xff, 0x10], readVarint); // bits beyond 32
    bad([0xff, 0xff, 0xff, 0xff, 0xff, 0x01], readVarint); // 6 bytes
    bad([0x80], readVarlong);
    bad([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], readVarlong); // 11 bytes
    bad([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], readVarlong); // zigzag 2^56: unsafe
    bad([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], readVarlong); // zigzag 2^56 - 2: unsafe
    // A reader never reads at or past `end`, even when more bytes follow.
    expect(() => readVarint(Uint8Array.from([0x80, 0x01]), { pos: 0 }, 1)).to.throw(VarintError);
  });
});

describe('record batch v2', () => {
  describe('golden vector (Kafka DefaultRecordBatch layout, built by hand)', () => {
    const baseTimestamp = 1_700_000_000_000; // 0x0000018B_CFE56800
    const records: RecordInput[] = [
      { key: utf8('k'), value: utf8('v1'), headers: [{ key: 'h', value: Uint8Array.of(1) }], timestamp: baseTimestamp },
      { key: null, value: null, timestamp: baseTimestamp - 1 },
    ];
    const options: BatchOptions = {
      baseOffset: 5,
      partitionLeaderEpoch: 7,
      producerId: 2 ** 32 + 2,
      producerEpoch: 3,
      baseSequence: 9,
      transactional: true,
    };
    // prettier-ignore
    const expectedRecords = [
      // record 0: length 13 (zigzag 26), attributes, tsDelta 0, offsetDelta 0, key "k", value "v1", 1 header "h" = [1]
      0x1a, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x04, 0x76, 0x31, 0x02, 0x02, 0x68, 0x02, 0x01,
      // record 1: length 6, attributes, tsDelta -1, offsetDelta 1, key null, value null, 0 headers
      0x0c, 0x00, 0x01, 0x02, 0x01, 0x01, 0x00,
    ];
    // prettier-ignore
    const expectedAfterCrc = [
      0x00, 0x10,                                     // 21 attributes: transactional (bit 4), create time
      0x00, 0x00, 0x00, 0x01,                         // 23 lastOffsetDelta 1
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // 27 baseTimestamp
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // 35 maxTimestamp
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, // 43 producerId 2^32 + 2
      0x00, 0x03,                                     // 51 producerEpoch 3
      0x00, 0x00, 0x00, 0x09,                         // 53 baseSequence 9
      0x00, 0x00, 0x00, 0x02,                         // 57 recordCount 2
      ...expectedRecords,                             // 61 records
    ];
    const crc = referenceCrc32c(Uint8Array.from(expectedAfterCrc));
    // prettier-ignore
    const expected = Uint8Array.from([
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, //  0 baseOffset 5
      0x00, 0x00, 0x00, 0x46,                         //  8 batchLength 70 (82 - 12)
      0x00, 0x00, 0x00, 0x07,                         // 12 partitionLeaderEpoch 7
      0x02,                                           // 16 magic 2
      crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff, // 17 crc
      ...expectedAfterCrc,
    ]);

    it('encodes byte for byte', () => {
      const bytes = encodeRecordBatch(records, options);
      expect(bytes.length).to.equal(82);
      expect([...bytes]).to.deep.equal([...expected]);
    });

    it('reads every header field from its Kafka offset', () => {
      const header = readBatchHeader(expected);
      expect(header).to.deep.equal({
        baseOffset: 5,
        batchLength: 70,
        sizeInBytes: 82,
        partitionLeaderEpoch: 7,
        magic: 2,
        crc,
        attributes: 0x10,
        lastOffsetDelta: 1,
        lastOffset: 6,
        baseTimestamp,
        maxTimestamp: baseTimestamp,
        producerId: 2 ** 32 + 2,
        producerEpoch: 3,
        baseSequence: 9,
        lastSequence: 10,
        recordCount: 2,
        timestampType: 'create',
        isTransactional: true,
        isControl: false,
      });
      expect(valid(expected)).to.deep.equal(header);
    });

    it('decodes the records', () => {
      const decoded = decodeRecords(expected);
      expect(decoded.map((r) => ({ ...r, key: bytesOf(r.key), value: bytesOf(r.value), headers: r.headers.map((h) => ({ key: h.key, value: bytesOf(h.value) })) }))).to.deep.equal([
        { offset: 5, timestamp: baseTimestamp, key: [0x6b], value: [0x76, 0x31], headers: [{ key: 'h', value: [1] }] },
        { offset: 6, timestamp: baseTimestamp - 1, key: null, value: null, headers: [] },
      ]);
    });
  });

  describe('round trip', () => {
    it('null, empty and present keys and values', () => {
      roundTrip(
        [
          { key: null, value: null },
          { key: new Uint8Array(0), value: new Uint8Array(0) },
          { key: utf8('key'), value: null },
          { key: null, value: utf8('value') },
        ],
        { timestampMs: 42 },
      );
    });

    it('headers: none, several, null values, repeated keys, unicode keys (incl. a lone surrogate)', () => {
      const bytes = roundTrip(
        [
          { key: null, value: utf8('a'), headers: [] },
          {
            key: null,
            value: utf8('b'),
            headers: [
              { key: 'trace-id', value: utf8('abc') },
              { key: 'trace-id', value: null },
              { key: '', value: new Uint8Array(0) },
              { key: 'clé-ключ-键-🔑', value: Uint8Array.of(0xff) },
              { key: 'x'.repeat(200), value: new Uint8Array(300).fill(7) },
            ],
          },
        ],
        { timestampMs: 1, baseOffset: 100 },
      );
      const lone = encodeRecordBatch([{ key: null, value: null, headers: [{ key: 'a\ud800b', value: null }] }], { timestampMs: 0 });
      expect(decodeRecords(lone)[0]!.headers[0]!.key).to.equal('a\ufffdb');
      expect(bytes.length).to.be.greaterThan(500);
    });

    it('large values (varint lengths of 2-4 bytes) and many records', () => {
      roundTrip(
        [
          { key: new Uint8Array(127).fill(1), value: new Uint8Array(128).fill(2) },
          { key: null, value: new Uint8Array(20_000).fill(3) },
          { key: null, value: new Uint8Array(3 * 1024 * 1024).fill(4) }, // length needs 4 bytes
        ],
        { timestampMs: 5 },
      );
      const many = Array.from({ length: 5000 }, (_, i): RecordInput => ({ key: utf8(`k${i}`), value: utf8(`v${i}`.repeat(i % 7)) }));
      const bytes = roundTrip(many, { timestampMs: 7, baseOffset: 1_000_000 });
      expect(readBatchHeader(bytes)).to.include({ lastOffsetDelta: 4999, lastOffset: 1_004_999 });
    });

    it('timestamps: per record, defaulted, decreasing, deltas beyond 32 bits, negative, max', () => {
      const bytes = roundTrip(
        [
          { key: null, value: null, timestamp: 1_000 },
          { key: null, value: null },
          { key: null, value: null, timestamp: 999 },
          { key: null, value: null, timestamp: 1_000 + 2 ** 40 },
          { key: null, value: null, timestamp: -5 },
          { key: null, value: null, timestamp: 1_000 - 2 ** 45 },
        ],
        { timestampMs: 2_000 },
      );
      expect(readBatchHeader(bytes)).to.include({ baseTimestamp: 1_000, maxTimestamp: 1_000 + 2 ** 40 });
      roundTrip([{ key: null, value: null, timestamp: Number.MAX_SAFE_INTEGER }], {});
      roundTrip([{ key: null, value: null, timestamp: 0 }, { key: null, value: null, timestamp: Number.MAX_SAFE_INTEGER }], {});
    });

    it("'log-append' batches give every record maxTimestamp (as Kafka does)", () => {
      const bytes = roundTrip(
        [
          { key: null, value: null, timestamp: 10 },
          { key: null, value: null, timestamp: 30 },
        ],
        { timestampType: 'log-append' },
      );
      expect(readBatchHeader(bytes)).to.include({ timestampType: 'log-append', attributes: 0x08 });
      expect(decodeRecords(bytes).map((r) => r.timestamp)).to.deep.equal([30, 30]);
    });

    it('an empty batch: header only, lastOffsetDelta -1, timestamps from timestampMs or -1', () => {
      const bytes = roundTrip([], { baseOffset: 3, timestampMs: 77 });
      expect(bytes.length).to.equal(BATCH_HEADER_BYTES);
      expect(readBatchHeader(bytes)).to.include({ recordCount: 0, lastOffsetDelta: -1, lastOffset: 2, baseTimestamp: 77, maxTimestamp: 77 });
      expect(readBatchHeader(encodeRecordBatch([], {}))).to.include({ baseTimestamp: -1, maxTimestamp: -1 });
    });

    it('producer fields, defaults and lastSequence wrapping past 2^31 - 1 (Kafka incrementSequence)', () => {
      const defaults = readBatchHeader(encodeRecordBatch([{ key: null, value: null }], { timestampMs: 0 })) as BatchHeader;
      expect(defaults).to.include({ baseOffset: 0, partitionLeaderEpoch: -1, producerId: -1, producerEpoch: -1, baseSequence: -1, lastSequence: -1, attributes: 0 });
      const three = Array.from({ length: 3 }, (): RecordInput => ({ key: null, value: null }));
      const wrapped = readBatchHeader(encodeRecordBatch(three, { timestampMs: 0, producerId: Number.MAX_SAFE_INTEGER, producerEpoch: 32767, baseSequence: 2 ** 31 - 2 })) as BatchHeader;
      expect(wrapped).to.include({ producerId: Number.MAX_SAFE_INTEGER, producerEpoch: 32767, baseSequence: 2 ** 31 - 2, lastSequence: 0 });
    });

    it('decodes a batch inside a larger buffer (non-zero byteOffset, position, Node Buffer)', () => {
      const a = encodeRecordBatch([{ key: utf8('a'), value: utf8('1') }], { timestampMs: 1 });
      const b = encodeRecordBatch([{ key: utf8('b'), value: utf8('2') }], { timestampMs: 2, baseOffset: 1 });
      const big = new Uint8Array(a.length + b.length + 10);
      big.set(a, 3);
      big.set(b, 3 + a.length);
      const inner = big.subarray(3, 3 + a.length + b.length);
      expect(valid(inner, a.length).baseOffset).to.equal(1);
      const [record] = decodeRecords(inner, a.length);
      expect(record!.key!.byteOffset).to.equal(3 + a.length + BATCH_HEADER_BYTES + 5); // after length, attributes, tsDelta, offsetDelta, keyLength
      expect(bytesOf(record!.value)).to.deep.equal([0x32]);
      const buffer = Buffer.from(b);
      expect(valid(buffer).recordCount).to.equal(1);
      const fromBuffer = decodeRecords(buffer)[0]!.value!;
      expect(Buffer.isBuffer(fromBuffer)).to.equal(false); // plain Uint8Array views, also from a Buffer
      expect(bytesOf(fromBuffer)).to.deep.equal([0x32]);
    });
  });

  describe('CRC and integrity', () => {
    const sample = (): Uint8Array =>
      encodeRecordBatch(
        [
          { key: utf8('key'), value: utf8('value'), headers: [{ key: 'h', value: utf8('hv') }], timestamp: 123_456 },
          { key: null, value: new Uint8Array(40).fill(9), timestamp: 123_999 },
        ],
        { baseOffset: 10, partitionLeaderEpoch: 2, producerId: 77, producerEpoch: 1, baseSequence: 5 },
      );

    it('detects every single flipped bit from magic to the end; decoding such bytes throws only CorruptRecordError', () => {
      const bytes = sample();
      for (let i = 16; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          bytes[i]! ^= 1 << bit;
          const result = validateBatch(bytes);
          expect(result.ok, `bit ${bit} of byte ${i}`).to.equal(false);
          try {
            decodeRecords(bytes);
          } catch (error) {
            expect(error, `decode with bit ${bit} of byte ${i} flipped`).to.be.instanceOf(CorruptRecordError);
          }
          bytes[i]! ^= 1 << bit;
        }
      }
      valid(bytes);
    });

    it('a flipped bit in batchLength is never accepted', () => {
      const bytes = sample();
      for (let i = 8; i < 12; i++) {
        for (let bit = 0; bit < 8; bit++) {
          bytes[i]! ^= 1 << bit;
          expect(validateBatch(bytes).ok, `bit ${bit} of byte ${i}`).to.equal(false);
          bytes[i]! ^= 1 << bit;
        }
      }
    });

    it('the CRC is the CRC-32C of bytes 21..end, at bytes 17..20', () => {
      const bytes = sample();
      expect(view(bytes).getUint32(17)).to.equal(referenceCrc32c(bytes.subarray(21)));
      expect(readBatchHeader(bytes)).to.include({ crc: referenceCrc32c(bytes.subarray(21)) });
    });

    it('stampBatch writes baseOffset and partitionLeaderEpoch in place and keeps the CRC valid', () => {
      const bytes = sample();
      const before = [...bytes.subarray(16)];
      stampBatch(bytes, 0, { baseOffset: 2 ** 40 + 3, partitionLeaderEpoch: 2 ** 31 - 1 });
      expect([...bytes.subarray(16)]).to.deep.equal(before); // nothing covered by the CRC moved
      const header = valid(bytes);
      expect(header).to.include({ baseOffset: 2 ** 40 + 3, lastOffset: 2 ** 40 + 4, partitionLeaderEpoch: 2 ** 31 - 1 });
      expect(decodeRecords(bytes).map((r) => r.offset)).to.deep.equal([2 ** 40 + 3, 2 ** 40 + 4]);
      // In the middle of a concatenation, the neighbours stay intact.
      const log = concat(sample(), sample());
      stampBatch(log, bytes.length, { baseOffset: 12, partitionLeaderEpoch: 3 });
      expect(valid(log, 0)).to.include({ baseOffset: 10, partitionLeaderEpoch: 2 });
      expect(valid(log, bytes.length)).to.include({ baseOffset: 12, partitionLeaderEpoch: 3 });
    });

    it('stampBatch rejects values it cannot represent', () => {
      const bytes = sample();
      expect(() => stampBatch(bytes, 0, { baseOffset: -1, partitionLeaderEpoch: 0 })).to.throw(AssertionError);
      expect(() => stampBatch(bytes, 0, { baseOffset: Number.MAX_SAFE_INTEGER, partitionLeaderEpoch: 0 })).to.throw(AssertionError, /safe integer/);
      expect(() => stampBatch(bytes, 0, { baseOffset: 0, partitionLeaderEpoch: 2 ** 31 })).to.throw(AssertionError);
      expect(() => stampBatch(bytes, bytes.length - 10, { baseOffset: 0, partitionLeaderEpoch: 0 })).to.throw(AssertionError, /no batch header/);
      valid(bytes);
    });
  });

  describe('truncation', () => {
    it('every proper prefix is truncated: readBatchHeader, validateBatch; decodeRecords throws', () => {
      const bytes = encodeRecordBatch(
        [
          { key: utf8('a'), value: new Uint8Array(100) },
          { key: utf8('b'), value: null },
        ],
        { timestampMs: 1 },
      );
      for (let n = 0; n < bytes.length; n++) {
        const prefix = bytes.subarray(0, n);
        expect(readBatchHeader(prefix), `prefix ${n}`).to.equal('truncated');
        const result = validateBatch(prefix);
        expect(result.ok === false && result.reason, `prefix ${n}`).to.equal('truncated');
        expectCorrupt(() => decodeRecords(prefix), /truncated/);
      }
      expect(readBatchHeader(bytes, bytes.length)).to.equal('truncated');
    });

    it('iterateBatches walks a concatenation and stops quietly at a torn tail', () => {
      const batches = [0, 1, 2, 3].map((i) =>
        encodeRecordBatch(
          Array.from({ length: i + 1 }, (): RecordInput => ({ key: null, value: new Uint8Array(10 * i) })),
          { timestampMs: i, baseOffset: (i * (i + 1)) / 2 },
        ),
      );
      const whole = concat(...batches);
      const positions = (bytes: Uint8Array): number[] => [...iterateBatches(bytes)].map((b) => b.position);
      const starts = [0, batches[0]!.length, batches[0]!.length + batches[1]!.length, whole.length - batches[3]!.length];
      expect(positions(whole)).to.deep.equal(starts);
      expect([...iterateBatches(whole)].map((b) => b.header.baseOffset)).to.deep.equal([0, 1, 3, 6]);
      for (let cut = 1; cut < batches[3]!.length; cut++) {
        expect(positions(whole.subarray(0, whole.length - cut)), `cut ${cut}`).to.deep.equal(starts.slice(0, 3));
      }
      expect(positions(new Uint8Array(0))).to.deep.equal([]);
      expect(positions(whole.subarray(0, 30))).to.deep.equal([]);
      for (const { position } of iterateBatches(whole)) valid(whole, position);
    });

    it('iterateBatches throws CorruptRecordError, with its position, at a header that cannot be framed', () => {
      const a = encodeRecordBatch([{ key: null, value: null }], { timestampMs: 0 });
      const garbage = new Uint8Array(80).fill(0xab);
      const error = expectCorrupt(() => [...iterateBatches(concat(a, garbage))], /batchLength/);
      expect(error.position).to.equal(a.length);
    });
  });

  describe('corrupt headers', () => {
    const base = (): Uint8Array => encodeRecordBatch([{ key: null, value: utf8('x') }], { timestampMs: 9 });
    const corrupt = (bytes: Uint8Array, pattern: RegExp): void => {
      const result = validateBatch(bytes);
      expect(result.ok).to.equal(false);
      if (!result.ok) {
        expect(result.reason).to.equal('corrupt');
        expect(result.message).to.match(pattern);
      }
    };

    it('magic other than 2', () => {
      const bytes = base();
      bytes[16] = 1;
      corrupt(bytes, /magic 1/);
      expectCorrupt(() => readBatchHeader(bytes), /magic/);
      expectCorrupt(() => decodeRecords(bytes), /magic/);
    });

    it('batchLength below 49 or above BATCH_BYTES_MAX', () => {
      for (const length of [-1, 0, 48, BATCH_BYTES_MAX - 11, 2 ** 31 - 1]) {
        const bytes = base();
        view(bytes).setInt32(8, length);
        corrupt(bytes, /batchLength/);
      }
    });

    it('compression codecs are rejected with their name', () => {
      const names = ['gzip', 'snappy', 'lz4', 'zstd', 'unknown', 'unknown', 'unknown'];
      names.forEach((name, i) => {
        const bytes = base();
        view(bytes).setInt16(21, i + 1);
        reseal(bytes);
        corrupt(bytes, new RegExp(`compression ${name} \\(${i + 1}\\) is not supported`));
        expectCorrupt(() => decodeRecords(bytes), /compression/);
      });
    });

    it('recordCount negative, inconsistent with lastOffsetDelta, or too large for the bytes', () => {
      const cases: Array<[number, number, RegExp]> = [
        [-1, 0, /negative recordCount/],
        [2, 0, /does not match lastOffsetDelta/],
        [0, 0, /recordCount is 0 but/],
        [1000, 999, /cannot fit/],
      ];
      for (const [count, lastOffsetDelta, pattern] of cases) {
        const bytes = base();
        view(bytes).setInt32(57, count);
        view(bytes).setInt32(23, lastOffsetDelta);
        reseal(bytes);
        corrupt(bytes, pattern);
      }
    });

    it('64-bit fields outside the safe-integer range', () => {
      const cases: Array<[number, number, number]> = [
        [0, 0x0020_0000, 0], // baseOffset 2^53
        [0, -1, 0xffff_ffff], // baseOffset -1
        [27, 0x7fff_ffff, 0], // baseTimestamp
        [35, -0x8000_0000, 0], // maxTimestamp
        [43, 0x0040_0000, 0], // producerId
      ];
      for (const [at, high, low] of cases) {
        const bytes = base();
        view(bytes).setInt32(at, high);
        view(bytes).setUint32(at + 4, low);
        reseal(bytes);
        corrupt(bytes, /safe integer/);
        expectCorrupt(() => readBatchHeader(bytes), /safe integer/);
      }
      // baseOffset 2^53 - 1 is fine alone, but not with a lastOffsetDelta that takes it past the range.
      const two = encodeRecordBatch([{ key: null, value: null }, { key: null, value: null }], { timestampMs: 0 });
      view(two).setInt32(0, 0x001f_ffff);
      view(two).setUint32(4, 0xffff_ffff);
      corrupt(two, /lastOffset/);
      const one = encodeRecordBatch([{ key: null, value: null }], { timestampMs: 0, baseOffset: Number.MAX_SAFE_INTEGER });
      expect(valid(one)).to.include({ baseOffset: Number.MAX_SAFE_INTEGER, lastOffset: Number.MAX_SAFE_INTEGER });
    });
  });

  describe('corrupt records (CRC valid, so only the decoder can tell)', () => {
    // A well-formed record: length 6, attributes, tsDelta 0, offsetDelta 0, key null, value null, 0 headers.
    const ok = [0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00];

    it('accepts the hand-made baseline', () => {
      valid(craft(ok, 1));
      expect(decodeRecords(craft(ok, 1))).to.have.length(1);
      expect(decodeRecords(craft([...ok, 0x0c, 0x00, 0x00, 0x02, 0x01, 0x01, 0x00], 2)).map((r) => r.offset)).to.deep.equal([0, 1]);
    });

    const cases: Array<[string, number[], number, RegExp]> = [
      ['record length varint with bits beyond 32', [0xff, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x00], 1, /varint longer than 32 bits/],
      ['a varint cut by the record end', [0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x80], 1, /varint truncated|does not fit/],
      ['record length beyond the batch', [0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00], 1, /length 7 does not fit/],
      ['negative record length', [0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00], 1, /length -1 does not fit/],
      ['timestampDelta varlong not a safe integer', [0x1a, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00, 0x01, 0x01, 0x00], 1, /not a safe integer/],
      ['timestampDelta running past the record', [0x0c, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 1, /truncated|declared/],
      ['key length -2', [0x0c, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00], 1, /key length -2/],
      ['value longer than the record', [0x0c, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00], 1, /value length 4/],
      ['negative header count', [0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01], 1, /headerCount -1/],
      ['header count larger than the bytes', [0x0c, 0x00, 0x00, 0x00, 0x01, 0x01, 0x7e], 1, /headerCount 63/],
      ['negative header key length', [0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x01], 1, /header 0 key length -1/],
      ['fields shorter than the declared length', [0x0e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00], 1, /declared 7 bytes but its fields take 6/],
      ['bytes left after the last record', [...ok, 0x00], 1, /1 bytes remain after 1 records/],
      ['offsetDelta beyond lastOffsetDelta', [0x0c, 0x00, 0x00, 0x02, 0x01, 0x01, 0x00], 1, /offsetDelta 1/],
      ['offsetDelta not increasing', [...ok, ...ok], 2, /offsetDelta 0 is not in \(0, 1\]/],
      ['fewer records than recordCount', [...ok, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], 2, /length 0 does not fit/],
    ];
    for (const [name, recordBytes, count, pattern] of cases) {
      it(name, () => {
        const bytes = craft(recordBytes, count);
        expectCorrupt(() => decodeRecords(bytes), pattern);
      });
    }

    it('survives random garbage records: only CorruptRecordError or a result (seeded)', () => {
      let seed = 0x2545f491;
      const next = (): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed >>> 16;
      };
      let thrown = 0;
      for (let round = 0; round < 2000; round++) {
        const length = 7 + (next() % 60);
        const recordBytes = Array.from({ length }, () => (next() % 4 === 0 ? next() & 0xff : next() % 16));
        const count = 1 + (next() % 4);
        try {
          decodeRecords(craft(recordBytes, count));
        } catch (error) {
          expect(error, `seed round ${round}`).to.be.instanceOf(CorruptRecordError);
          thrown++;
        }
      }
      expect(thrown).to.be.greaterThan(1000);
    });
  });

  describe('encoder preconditions (AssertionError)', () => {
    const one: RecordInput[] = [{ key: null, value: null }];
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['a record without a timestamp and no timestampMs', () => encodeRecordBatch([{ key: null, value: null, timestamp: 1 }, { key: null, value: null }], {}), /record 1 has no timestamp/],
      ['a timestamp that is not a safe integer', () => encodeRecordBatch([{ key: null, value: null, timestamp: 2 ** 53 }], {}), /safe integer/],
      ['a fractional timestamp', () => encodeRecordBatch(one, { timestampMs: 1.5 }), /safe integer/],
      ['a negative baseOffset', () => encodeRecordBatch(one, { timestampMs: 0, baseOffset: -1 }), /baseOffset/],
      ['a baseOffset past the safe range with the records', () => encodeRecordBatch([...one, ...one], { timestampMs: 0, baseOffset: Number.MAX_SAFE_INTEGER }), /last offset/],
      ['a producerId past 2^53', () => encodeRecordBatch(one, { timestampMs: 0, producerId: 2 ** 53 }), /producerId/],
      ['a producerEpoch past int16', () => encodeRecordBatch(one, { timestampMs: 0, producerEpoch: 32768 }), /producerEpoch/],
      ['a baseSequence past int32', () => encodeRecordBatch(one, { timestampMs: 0, baseSequence: 2 ** 31 }), /baseSequence/],
      ['a partitionLeaderEpoch below -1', () => encodeRecordBatch(one, { timestampMs: 0, partitionLeaderEpoch: -2 }), /partitionLeaderEpoch/],
      ['a timestamp delta past the safe range', () => encodeRecordBatch([{ key: null, value: null, timestamp: -(2 ** 52) }, { key: null, value: null, timestamp: 2 ** 52 }], {}), /safe integer/],
    ];
    for (const [name, fn, pattern] of cases) {
      it(`rejects ${name}`, () => {
        expect(fn).to.throw(AssertionError, pattern);
      });
    }

    it(`rejects a batch larger than BATCH_BYTES_MAX (${BATCH_BYTES_MAX} bytes)`, () => {
      const big = new Uint8Array(BATCH_BYTES_MAX / 2);
      expect(() => encodeRecordBatch([{ key: null, value: big }, { key: null, value: big }], { timestampMs: 0 })).to.throw(AssertionError, /exceeds/);
      // 61 header + 4 length + 9 other record bytes + the value: exactly BATCH_BYTES_MAX, the inclusive bound.
      const fits = new Uint8Array(BATCH_BYTES_MAX - BATCH_HEADER_BYTES - 13);
      expect(valid(encodeRecordBatch([{ key: null, value: fits }], { timestampMs: 0 })).sizeInBytes).to.equal(BATCH_BYTES_MAX);
    });
  });
});
