/**
 * Model-based property test of the DTLS replay window (RFC 6347 §4.1.2.6): random command
 * sequences of `check` and `mark` run against `ReplayWindow` and against a plain set of seen
 * numbers with a highest mark, which must agree after every step.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { REPLAY_WINDOW_SIZE, ReplayWindow } from "./replay_window.ts";

/** The obvious, slow window: every number marked, and the highest one. */
interface Model {
  seen: Set<number>;
  highest: number;
}

const fresh = (model: Model, seq: number): boolean =>
  !model.seen.has(seq) && seq > model.highest - REPLAY_WINDOW_SIZE;

class CheckCommand implements fc.Command<Model, ReplayWindow> {
  constructor(readonly seq: number) {}
  check(): boolean {
    return true;
  }
  run(model: Model, window: ReplayWindow): void {
    assert.equal(window.check(this.seq), fresh(model, this.seq), `check(${this.seq})`);
  }
  toString(): string {
    return `check(${this.seq})`;
  }
}

/** Marks a number, as the record layer does after a record passed check() and its MAC. */
class MarkCommand implements fc.Command<Model, ReplayWindow> {
  constructor(readonly seq: number) {}
  check(model: Readonly<Model>): boolean {
    return fresh(model, this.seq);
  }
  run(model: Model, window: ReplayWindow): void {
    window.mark(this.seq);
    model.seen.add(this.seq);
    model.highest = Math.max(model.highest, this.seq);
    assert.equal(window.highest, model.highest);
    assert.equal(window.check(this.seq), false, `${this.seq} accepted again after mark`);
  }
  toString(): string {
    return `mark(${this.seq})`;
  }
}

/** Sequence numbers that cluster (so the window edges get hit) with jumps now and then. */
const seq = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 150 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 ** 48 - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(63, 64, 65, 127, 128, 2 ** 48 - 1) },
);

Deno.test("replay window property: agrees with a set of seen numbers on any history", () => {
  fc.assert(
    fc.property(
      fc.commands([
        seq.map((n) => new CheckCommand(n)),
        seq.map((n) => new MarkCommand(n)),
      ], { maxCommands: 300 }),
      (commands) => {
        fc.modelRun(
          () => ({ model: { seen: new Set<number>(), highest: -1 }, real: new ReplayWindow() }),
          commands,
        );
      },
    ),
    { seed: 0x64, numRuns: 300 },
  );
});

Deno.test("replay window property: in-window numbers in any order are each accepted once", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: REPLAY_WINDOW_SIZE - 1 }), { minLength: 1 }),
      fc.nat({ max: 2 ** 40 }),
      (offsets, base) => {
        const window = new ReplayWindow();
        // Start at the top of the range so every later number is still inside the window.
        window.mark(base + REPLAY_WINDOW_SIZE - 1);
        for (const offset of offsets) {
          const n = base + offset;
          if (n === base + REPLAY_WINDOW_SIZE - 1) continue;
          assert.equal(window.check(n), true, `${n} refused the first time`);
          window.mark(n);
          assert.equal(window.check(n), false, `${n} accepted twice`);
        }
      },
    ),
    { seed: 0x65, numRuns: 300 },
  );
});
