/**
 * The short fixed-seed fuzz pass CI runs with the other tests: every target's seed corpus
 * loads, and a fixed number of seeded mutations per target find no crash. Also checks that
 * the harness itself finds, shrinks and reproduces a planted crash.
 */
import assert from "node:assert/strict";
import { fuzzTarget, loadCorpus, loadTargets, runInput } from "./engine.ts";
import { mutate } from "./mutate.ts";
import { SeededRandom } from "./random.ts";
import type { FuzzTarget } from "./target.ts";

const SEED = 0x5eed;
const ITERATIONS = 4000;

for (const target of await loadTargets()) {
  Deno.test(`fuzz smoke (seed ${SEED}): ${target.name}`, async () => {
    const corpus = await loadCorpus(target);
    assert.ok(corpus.length > 0, `fuzz/corpus/${target.corpus}/ is empty: run capture_corpus.ts`);
    const report = fuzzTarget(target, corpus, { seed: SEED, iterations: ITERATIONS });
    assert.equal(report.inputs, corpus.length + ITERATIONS);
    assert.deepEqual(
      report.crashes.map((c) => `${c.signature}\n  input ${c.input.toHex()}`),
      [],
      `replay: deno run -A fuzz/main.ts --seed ${SEED} --target ${target.name}`,
    );
  });
}

/** Crashes (a plain Error) on inputs over 12 bytes that start 0xde; refuses ones starting 0xff. */
const planted: FuzzTarget = {
  name: "planted",
  corpus: "none",
  run(input) {
    if (input[0] === 0xff) throw new RangeError("refused");
    if (input[0] === 0xde && input.length > 12) throw new Error("planted bug");
    return `length ${Math.min(input.length, 8)}`;
  },
  expected: (error) => error instanceof RangeError,
};

Deno.test("fuzz harness: a planted crash is found, shrunk to its trigger and replays", () => {
  const corpus = [Uint8Array.fromHex("de112233445566"), Uint8Array.fromHex("ff00")];
  const report = fuzzTarget(planted, corpus, { seed: 3, iterations: 5000 });
  assert.equal(report.crashes.length, 1);
  const [crash] = report.crashes;
  // Shrinking keeps the trigger and nothing more: 0xde first, 13 bytes.
  assert.equal(crash!.input.length, 13);
  assert.equal(crash!.input[0], 0xde);
  assert.equal(runInput(planted, crash!.input).kind, "crash");
  assert.equal(runInput(planted, Uint8Array.fromHex("ff")).kind, "refused");
  assert.equal(runInput(planted, Uint8Array.fromHex("00")).kind, "pass");
});

Deno.test("fuzz harness: mutations are a function of the seed", () => {
  const pool = [Uint8Array.fromHex("8000050102039000"), Uint8Array.fromHex("01")];
  const run = (seed: number) => {
    const random = new SeededRandom(seed);
    return Array.from({ length: 200 }, () => mutate(pool[0]!, random, pool, 64).toHex());
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
  assert.ok(run(42).every((hex) => hex.length <= 128));
});
