/**
 * Lucky 13 timing check: how long `CbcHmacProtector.open` takes on MAC-then-encrypt records
 * whose padding is valid against records whose padding is invalid, for every padding length
 * byte 0..255 (AlFardan and Paterson 2013). Every record has the same length (512 bytes of
 * ciphertext after the IV) and every one fails its MAC, as in the attack: what an attacker
 * could time is how long the receiver takes to send bad_record_mac.
 *
 * - *valid padding L*: content, a wrong MAC and correct padding of length L (L + 1 bytes of
 *   value L); the reference row is L = 11;
 * - *invalid padding L*: the last plaintext byte is L, and the L bytes before it hold L ^ 1, so
 *   the padding check fails (L = 0 has a single padding byte, which is always well-formed: that
 *   record is the same as valid padding 0).
 *
 * Two ways to run it:
 * - `deno bench -A bench/lucky13_bench.ts`: a group per MAC with the valid-padding record as the
 *   baseline and invalid padding lengths 0, 1, 15, 16, 64, 128 and 255 next to it (avg, p75,
 *   p99 and ratios);
 * - `deno run -A bench/lucky13_bench.ts`: its own timing loop over all 256 lengths, interleaved
 *   in random order round after round so drift hits every case alike, printing for each MAC the
 *   median time of the reference record (valid padding 11), then per length L the difference
 *   of medians (case − reference) for valid and for invalid padding of length L, with each
 *   case's interquartile range, and two control rows: a second, independent series of the
 *   reference record, whose difference shows the noise, and the reference record one block
 *   longer, which shows how small a real difference the loop resolves; last, valid minus
 *   invalid padding of the same length averaged over all lengths, with its standard error.
 *   `ROUNDS=n` sets the number of rounds (default 200);
 * - `SIZES=1 deno run -A bench/lucky13_bench.ts`: `CbcHmacProtector` on its `noble` and `auto`
 *   engines (`auto` decrypts large records with node:crypto; both run the same constant-cost
 *   JavaScript MAC check) at records of 64, 1400, 4096 and 16384 bytes: per row
 *   the reference time, an A/A control (the reference against an independent copy of itself:
 *   the noise), and valid − invalid padding averaged over 16 padding lengths with its standard
 *   error — the residue to read against that noise.
 *
 * @module
 */

import { createCipheriv } from "node:crypto";
import {
  type CbcCipherSuite,
  CbcHmacProtector,
  CipherSuites,
  type RecordProtector,
} from "@anchortls/record";

/** Ciphertext bytes after the explicit IV: room for a MAC and up to 256 bytes of padding. */
const BODY = 512;
const REFERENCE_PADDING = 11;
const context = { type: 23, version: 0x0303, sequence: 7n };

interface Case {
  readonly name: string;
  readonly fragment: Uint8Array;
}

interface Setup {
  readonly protector: CbcHmacProtector;
  /** Valid padding of every length 0..255 (index = length). */
  readonly valid: readonly Case[];
  /** Invalid padding of every length 0..255 (index = length). */
  readonly invalid: readonly Case[];
}

function encrypt(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const cipher = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv).setAutoPadding(false);
  const body = new Uint8Array([...cipher.update(plaintext), ...cipher.final()]);
  return new Uint8Array([...iv, ...body]);
}

function setup(suite: CbcCipherSuite): Setup {
  const encKey = crypto.getRandomValues(new Uint8Array(suite.encKeyLength));
  const macKey = crypto.getRandomValues(new Uint8Array(suite.macLength));
  const protector = new CbcHmacProtector({
    suite,
    encryptThenMac: false,
    encKey,
    macKey,
    engine: "noble",
  });
  const valid: Case[] = [];
  const invalid: Case[] = [];
  for (let length = 0; length < 256; length++) {
    // The MAC in front of the padding is random, so every record fails, as in the attack.
    const good = crypto.getRandomValues(new Uint8Array(BODY));
    good.fill(length, BODY - 1 - length);
    valid.push({ name: `valid padding ${length}`, fragment: encrypt(encKey, good) });
    const bad = crypto.getRandomValues(new Uint8Array(BODY));
    bad[BODY - 1] = length;
    bad.fill(length ^ 1, BODY - 1 - length, BODY - 1);
    invalid.push({ name: `invalid padding ${length}`, fragment: encrypt(encKey, bad) });
  }
  for (const c of [...valid, ...invalid]) {
    if (opens(protector, c.fragment)) throw new Error(`${c.name} unexpectedly opened`);
  }
  return { protector, valid, invalid };
}

/**
 * The positive control: the reference record one block (16 bytes) longer, which costs one
 * more AES block and at most one more SHA compression, so the table shows how small a
 * difference this loop can see.
 */
function longer(reference: Case): Case {
  const fragment = new Uint8Array(reference.fragment.length + 16);
  fragment.set(reference.fragment.subarray(0, 16 + BODY - 16));
  fragment.set(reference.fragment.subarray(16 + BODY - 32), 16 + BODY - 16);
  return { name: "one block longer (positive control)", fragment };
}

/** Opens one record; true when it authenticated (never, for these records). */
function opens(protector: RecordProtector, fragment: Uint8Array): boolean {
  try {
    protector.open(context, fragment);
    return true;
  } catch {
    return false;
  }
}

const suites = [
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
];

/** MtE records of `body` ciphertext bytes, valid and invalid padding at `lengths`. */
function recordsOf(
  encKey: Uint8Array,
  body: number,
  lengths: readonly number[],
): { valid: Case[]; invalid: Case[] } {
  const valid: Case[] = [];
  const invalid: Case[] = [];
  for (const length of lengths) {
    const good = crypto.getRandomValues(new Uint8Array(body));
    good.fill(length, body - 1 - length);
    valid.push({ name: `valid ${length}`, fragment: encrypt(encKey, good) });
    const bad = crypto.getRandomValues(new Uint8Array(body));
    bad[body - 1] = length;
    bad.fill(length ^ 1, body - 1 - length, body - 1);
    invalid.push({ name: `invalid ${length}`, fragment: encrypt(encKey, bad) });
  }
  return { valid, invalid };
}

/** The `SIZES=1` table: both protectors, four record sizes, an A/A control per row. */
function sizesTable(rounds: number): void {
  const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  const median = (xs: number[]) => {
    const s = xs.toSorted((a, b) => a - b);
    return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
  };
  out(
    "| suite | protector | record B | reference µs | A/A control Δ µs | valid − invalid µs (± s.e.) |",
  );
  out(
    "| ----- | --------- | -------- | ------------ | ---------------- | --------------------------- |",
  );
  for (const suite of suites) {
    const encKey = crypto.getRandomValues(new Uint8Array(suite.encKeyLength));
    const macKey = crypto.getRandomValues(new Uint8Array(suite.macLength));
    const keys = { suite, encryptThenMac: false, encKey, macKey };
    const protectors: [string, RecordProtector][] = [
      ["CbcHmacProtector noble", new CbcHmacProtector({ ...keys, engine: "noble" })],
      ["CbcHmacProtector auto", new CbcHmacProtector({ ...keys, engine: "auto" })],
    ];
    for (const size of [64, 1400, 4096, 16384]) {
      // Ciphertext after the IV, whole blocks; padding up to what the record can hold.
      const body = Math.floor((size - 16) / 16) * 16;
      const most = Math.min(255, body - suite.macLength - 1);
      const lengths = Array.from({ length: 16 }, (_, i) => Math.round(i * most / 15));
      const { valid, invalid } = recordsOf(encKey, body, lengths);
      const reference = valid[0]!;
      const control = { name: "control", fragment: reference.fragment.slice() };
      const cases = [reference, control, ...valid, ...invalid];
      for (const [name, protector] of protectors) {
        const perSample = Math.max(1, Math.round(2000 / size));
        const samples = cases.map(() => [] as number[]);
        for (let warm = 0; warm < 200; warm++) {
          opens(protector, cases[warm % cases.length]!.fragment);
        }
        for (let round = 0; round < rounds; round++) {
          const order = cases.map((_, i) => i).sort(() => Math.random() - 0.5);
          for (const i of order) {
            const start = performance.now();
            for (let k = 0; k < perSample; k++) opens(protector, cases[i]!.fragment);
            samples[i]!.push((performance.now() - start) / perSample * 1000);
          }
        }
        const medians = samples.map(median);
        const paired = lengths.map((_, l) => medians[2 + l]! - medians[2 + lengths.length + l]!);
        const mean = paired.reduce((a, b) => a + b, 0) / paired.length;
        const sd = Math.sqrt(paired.reduce((a, x) => a + (x - mean) ** 2, 0) / paired.length);
        const fmt = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
        out(
          `| ${suite.name} | ${name} | ${size} | ${medians[0]!.toFixed(2)} | ${
            fmt(medians[1]! - medians[0]!)
          } | ${fmt(mean)} (± ${(sd / Math.sqrt(paired.length)).toFixed(2)}) |`,
        );
      }
    }
  }
}

if (import.meta.main && Deno.env.get("SIZES")) {
  sizesTable(Number(Deno.env.get("ROUNDS") ?? 60));
} else if (!import.meta.main) {
  for (const suite of suites) {
    const s = setup(suite);
    const reference = s.valid[REFERENCE_PADDING]!;
    const shown = [0, 1, 15, 16, 64, 128, 255].map((length) => s.invalid[length]!);
    // Warm every case up first, so the JIT does not bill the first row for compiling.
    for (let i = 0; i < 3000; i++) {
      for (const c of [reference, ...shown]) opens(s.protector, c.fragment);
    }
    const group = `MtE open, ${BODY} B, ${suite.macAlgorithm}`;
    Deno.bench(reference.name, { group, baseline: true }, () => {
      opens(s.protector, reference.fragment);
    });
    for (const c of shown) {
      Deno.bench(c.name, { group }, () => {
        opens(s.protector, c.fragment);
      });
    }
  }
} else {
  const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 200);
  const PER_SAMPLE = 20;
  const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  const quantile = (sorted: readonly number[], q: number) => {
    const at = (sorted.length - 1) * q;
    const lo = Math.floor(at);
    return sorted[lo]! + (sorted[Math.ceil(at)]! - sorted[lo]!) * (at - lo);
  };
  const us = (ms: number) => `${ms >= 0 ? "+" : ""}${(ms * 1000).toFixed(2)}`;
  const spread = (deltas: number[]) => {
    const sorted = deltas.toSorted((a, b) => a - b);
    return `${us(sorted[0]!)} … ${us(sorted.at(-1)!)} µs (median ${us(quantile(sorted, 0.5))})`;
  };

  for (const suite of suites) {
    const s = setup(suite);
    const reference = s.valid[REFERENCE_PADDING]!;
    const control = { name: "reference again (control)", fragment: reference.fragment.slice() };
    const cases = [reference, control, longer(reference), ...s.valid, ...s.invalid];
    const samples = cases.map(() => [] as number[]);
    const order = cases.map((_, i) => i);
    for (let warm = 0; warm < 5000; warm++) {
      opens(s.protector, cases[warm % cases.length]!.fragment);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const i of order) {
        const fragment = cases[i]!.fragment;
        const start = performance.now();
        for (let k = 0; k < PER_SAMPLE; k++) opens(s.protector, fragment);
        samples[i]!.push((performance.now() - start) / PER_SAMPLE);
      }
    }
    const stats = samples.map((x) => {
      const sorted = x.toSorted((a, b) => a - b);
      return {
        median: quantile(sorted, 0.5),
        iqr: quantile(sorted, 0.75) - quantile(sorted, 0.25),
      };
    });
    const base = stats[0]!;
    const delta = (i: number) => stats[i]!.median - base.median;
    const iqr = (i: number) => (stats[i]!.iqr * 1000).toFixed(2);
    out(`\n${suite.name}: MtE open of ${BODY}-byte records, ${ROUNDS} rounds × ${PER_SAMPLE}`);
    out(
      `reference (valid padding ${REFERENCE_PADDING}): median ${
        (base.median * 1000).toFixed(2)
      } µs, IQR ${iqr(0)} µs`,
    );
    out(
      `control: reference again Δ ${us(delta(1))} µs (IQR ${iqr(1)}), one block longer Δ ${
        us(delta(2))
      } µs (IQR ${iqr(2)})`,
    );
    out("| L | valid padding L: Δ median µs (IQR) | invalid padding L: Δ median µs (IQR) |");
    out("| - | ---------------------------------- | ------------------------------------ |");
    for (let length = 0; length < 256; length++) {
      const v = 3 + length;
      const b = 3 + 256 + length;
      out(`| ${length} | ${us(delta(v))} (${iqr(v)}) | ${us(delta(b))} (${iqr(b)}) |`);
    }
    const validDeltas = s.valid.map((_, l) => delta(3 + l));
    const invalidDeltas = s.invalid.map((_, l) => delta(3 + 256 + l));
    const iqrs = stats.slice(3).map((st) => st.iqr * 1000).toSorted((a, b) => a - b);
    // The residue a per-length row cannot show: valid minus invalid padding of the same length,
    // averaged over the lengths, with its standard error.
    const paired = validDeltas.map((v, l) => v - invalidDeltas[l]!);
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const pairedMean = mean(paired);
    const sd = Math.sqrt(mean(paired.map((x) => (x - pairedMean) ** 2)));
    out(
      `valid − invalid padding, mean over L = 0..255: ${us(pairedMean)} µs (standard error ${
        (sd / Math.sqrt(paired.length) * 1000).toFixed(3)
      } µs; L < 57: ${us(mean(paired.slice(0, 57)))}, L ≥ 57: ${us(mean(paired.slice(57)))})`,
    );
    out(
      `summary: valid padding Δ ${spread(validDeltas)}; invalid padding Δ ${
        spread(invalidDeltas)
      }; median IQR ${quantile(iqrs, 0.5).toFixed(2)} µs`,
    );
  }
}
