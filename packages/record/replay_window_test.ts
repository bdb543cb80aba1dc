import assert from "node:assert/strict";
import { REPLAY_WINDOW_SIZE, ReplayWindow } from "./replay_window.ts";

function accept(w: ReplayWindow, seq: number): boolean {
  if (!w.check(seq)) return false;
  w.mark(seq);
  return true;
}

Deno.test("replay window: duplicates are refused, first copies accepted in any order", () => {
  const w = new ReplayWindow();
  assert.equal(w.highest, -1);
  assert.ok(accept(w, 0));
  assert.ok(!accept(w, 0));
  for (const seq of [5, 3, 4, 1, 2]) assert.ok(accept(w, seq), `first ${seq}`);
  for (const seq of [0, 1, 2, 3, 4, 5]) assert.ok(!accept(w, seq), `dup ${seq}`);
  assert.equal(w.highest, 5);
});

Deno.test("replay window: records older than 64 behind the highest are refused", () => {
  const w = new ReplayWindow();
  w.mark(1000);
  assert.ok(w.check(1000 - (REPLAY_WINDOW_SIZE - 1)), "63 behind is still in the window");
  assert.ok(!w.check(1000 - REPLAY_WINDOW_SIZE), "64 behind is too old");
  assert.ok(!w.check(0));
  assert.ok(accept(w, 937));
  assert.ok(!accept(w, 937));
});

Deno.test("replay window: far-future numbers are checkable and slide the window fully", () => {
  const w = new ReplayWindow();
  for (let seq = 0; seq < 10; seq++) w.mark(seq);
  const far = 2 ** 48 - 1;
  assert.ok(w.check(far));
  w.mark(far);
  assert.equal(w.highest, far);
  assert.ok(!w.check(far));
  assert.ok(w.check(far - 1));
  assert.ok(!w.check(9), "everything before the jump is now too old");
});

Deno.test("replay window: check does not mark; only authenticated records slide it", () => {
  const w = new ReplayWindow();
  w.mark(10);
  assert.ok(w.check(500));
  assert.ok(w.check(500), "a forged record that failed its MAC leaves the window unchanged");
  assert.equal(w.highest, 10);
  assert.ok(w.check(9));
});

Deno.test("replay window: sliding by 1..70 keeps exactly the marks still in range", () => {
  for (let shift = 1; shift <= 70; shift++) {
    const w = new ReplayWindow();
    for (let seq = 100; seq < 164; seq++) w.mark(seq);
    w.mark(163 + shift);
    for (let seq = 100; seq < 164; seq++) {
      assert.equal(w.check(seq), false, `shift ${shift} seq ${seq}`);
    }
    for (let seq = 164; seq < 163 + shift; seq++) {
      const inWindow = 163 + shift - seq < REPLAY_WINDOW_SIZE;
      assert.equal(w.check(seq), inWindow, `shift ${shift} gap ${seq}`);
    }
  }
});
