/**
 * CRC-32C, both implementations (the hardware one Node.js uses, the portable one browsers use): the
 * standard check values, agreement with a bit-at-a-time reference on every length and alignment that
 * exercises the slice-by-8 loop and its tail, and incremental use.
 */
import { expect } from 'chai';
import { CRC32C_IMPLEMENTATION, crc32c as crc32cInUse, crc32cPortable } from '../../src/util/crc32c.js';

/** The textbook bit-at-a-time CRC-32C, as the oracle. */
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

it('Node.js uses the hardware CRC-32C (@node-rs/crc32 is a dependency)', () => {
  expect(CRC32C_IMPLEMENTATION).to.equal('hardware');
});

for (const [name, crc32c] of [
  [`crc32c (${CRC32C_IMPLEMENTATION})`, crc32cInUse],
  ['crc32cPortable', crc32cPortable],
] as const) {
describe(name, () => {
  it('matches the standard check values', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).to.equal(0xe3069283);
    expect(crc32c(new Uint8Array(32))).to.equal(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).to.equal(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).to.equal(0x46dd794e);
    expect(crc32c(new Uint8Array())).to.equal(0);
  });

  it('agrees with the bit-at-a-time reference for every length 0..100 and odd alignments', () => {
    const buffer = pseudoRandomBytes(1200, 42);
    for (let length = 0; length <= 100; length++) {
      for (const offset of [0, 1, 3, 7]) {
        const data = buffer.subarray(offset, offset + length);
        expect(crc32c(data), `length ${length} offset ${offset}`).to.equal(referenceCrc32c(data));
      }
    }
    expect(crc32c(buffer)).to.equal(referenceCrc32c(buffer));
  });

  it('returns an unsigned 32-bit integer', () => {
    for (let seed = 1; seed < 50; seed++) {
      const value = crc32c(pseudoRandomBytes(seed, seed));
      expect(Number.isInteger(value) && value >= 0 && value <= 0xffffffff).to.equal(true);
    }
  });

  it('composes incrementally: crc32c(b, crc32c(a)) === crc32c(a + b)', () => {
    const whole = pseudoRandomBytes(301, 7);
    const expected = crc32c(whole);
    for (const split of [0, 1, 5, 8, 9, 64, 150, 300, 301]) {
      const a = whole.subarray(0, split);
      const b = whole.subarray(split);
      expect(crc32c(b, crc32c(a)), `split at ${split}`).to.equal(expected);
    }
    // Three pieces too.
    expect(crc32c(whole.subarray(200), crc32c(whole.subarray(13, 200), crc32c(whole.subarray(0, 13))))).to.equal(expected);
  });

  it('detects every single-bit flip in a record', () => {
    const data = pseudoRandomBytes(64, 3);
    const original = crc32c(data);
    for (let i = 0; i < data.length * 8; i++) {
      const flipped = data.slice();
      flipped[i >> 3]! ^= 1 << (i & 7);
      expect(crc32c(flipped)).to.not.equal(original);
    }
  });
});
}
