import assert from "node:assert/strict";
import { SeededRandom } from "./seeded_random.ts";

Deno.test("the same seed gives the same sequence, another seed another one", () => {
  const draw = (seed: number) => {
    const r = new SeededRandom(seed);
    return Array.from({ length: 20 }, () => r.next());
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

Deno.test("mulberry32 known answers for seed 0 and 42", () => {
  // Reference values of the published mulberry32 algorithm (first output / 2^32).
  assert.equal(Math.round(new SeededRandom(0).next() * 4294967296), 1144304738);
  assert.equal(Math.round(new SeededRandom(42).next() * 4294967296), 2581720956);
});

Deno.test("values stay in range and spread evenly", () => {
  const r = new SeededRandom(1);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const v = r.next();
    assert.ok(v >= 0 && v < 1);
    buckets[Math.floor(v * 10)]!++;
  }
  for (const count of buckets) assert.ok(count > 9_000 && count < 11_000, `bucket ${count}`);
  for (let i = 0; i < 1_000; i++) {
    const n = r.int(3, 5);
    assert.ok(n === 3 || n === 4 || n === 5);
  }
});
