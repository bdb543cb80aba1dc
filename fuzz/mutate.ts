/**
 * Seeded structural mutations of byte strings: the damage a noisy serial line or a hostile
 * peer does (flipped bits, lost and extra bytes, torn frames) plus the edits that reach a
 * decoder's length checks (length fields nudged to their edges, pieces of other inputs spliced
 * in, ranges duplicated).
 *
 * @module
 */

import type { SeededRandom } from "./random.ts";

/** Values that sit on the edges of one- and two-byte length fields. */
const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 0x3f, 0x40, 0xbf, 0xc0];

type Mutation = (
  input: Uint8Array,
  random: SeededRandom,
  pool: readonly Uint8Array[],
) => Uint8Array;

const flipBit: Mutation = (input, random) => {
  if (input.length === 0) return input;
  const out = input.slice();
  out[random.below(out.length)]! ^= 1 << random.below(8);
  return out;
};

const setByte: Mutation = (input, random) => {
  if (input.length === 0) return input;
  const value = random.below(2) ? random.pick(INTERESTING_BYTES) : random.below(256);
  return input.with(random.below(input.length), value);
};

const insertBytes: Mutation = (input, random) => {
  const at = random.below(input.length + 1);
  const extra = random.below(4)
    ? random.bytes(1 + random.below(4))
    : random.bytes(random.below(64));
  return Uint8Array.of(...input.subarray(0, at), ...extra, ...input.subarray(at));
};

const deleteBytes: Mutation = (input, random) => {
  if (input.length === 0) return input;
  const at = random.below(input.length);
  const n = 1 + random.below(random.below(4) ? 4 : input.length - at);
  return Uint8Array.of(...input.subarray(0, at), ...input.subarray(at + n));
};

/** Reads a one- or two-byte big-endian field at a random place and moves it to an edge. */
const tweakLength: Mutation = (input, random) => {
  if (input.length === 0) return input;
  const wide = input.length >= 2 && random.below(2) === 1;
  const at = random.below(input.length - (wide ? 1 : 0));
  const max = wide ? 0xffff : 0xff;
  const old = wide ? input[at]! << 8 | input[at + 1]! : input[at]!;
  const value = random.pick([
    old + 1,
    old - 1,
    old + 2 + random.below(16),
    old - 2 - random.below(16),
    0,
    max,
    max - 1,
    input.length - at,
    input.length - at - (wide ? 2 : 1),
    random.below(max + 1),
  ]) & max;
  const out = input.slice();
  if (wide) {
    out[at] = value >> 8;
    out[at + 1] = value & 0xff;
  } else {
    out[at] = value;
  }
  return out;
};

const truncate: Mutation = (input, random) => input.subarray(0, random.below(input.length + 1));

const duplicate: Mutation = (input, random) => {
  if (input.length === 0) return input;
  const from = random.below(input.length);
  const piece = input.subarray(from, from + 1 + random.below(input.length - from));
  const at = random.below(input.length + 1);
  return Uint8Array.of(...input.subarray(0, at), ...piece, ...input.subarray(at));
};

/** Joins a head of this input to a tail of another, as a torn frame followed by a new one. */
const splice: Mutation = (input, random, pool) => {
  const other = random.pick(pool);
  const cut = random.below(input.length + 1);
  const from = random.below(other.length + 1);
  return Uint8Array.of(...input.subarray(0, cut), ...other.subarray(from));
};

const mutations: readonly Mutation[] = [
  flipBit,
  setByte,
  insertBytes,
  deleteBytes,
  tweakLength,
  tweakLength,
  truncate,
  duplicate,
  splice,
];

/**
 * Applies one to four random mutations.
 *
 * @param input The starting bytes (not changed).
 * @param random The seeded source of every choice.
 * @param pool Inputs to splice from (non-empty).
 * @param maxLength The result is cut to this length.
 * @returns The mutated bytes.
 */
export function mutate(
  input: Uint8Array,
  random: SeededRandom,
  pool: readonly Uint8Array[],
  maxLength: number,
): Uint8Array {
  let out = input;
  const rounds = 1 + random.below(random.below(2) ? 4 : 1);
  for (let i = 0; i < rounds; i++) out = random.pick(mutations)(out, random, pool);
  return out.length > maxLength ? out.subarray(0, maxLength) : out;
}
