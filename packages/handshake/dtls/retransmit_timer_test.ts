import assert from "node:assert/strict";
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DtlsHandshakeTimeoutError,
  RetransmitTimer,
} from "./retransmit_timer.ts";

/** Lets a timer expire repeatedly and records when it asked for a resend. */
function expiries(timer: RetransmitTimer, count: number): number[] {
  const at: number[] = [];
  for (let i = 0; i < count; i++) {
    const deadline = timer.pollTimeout();
    assert.ok(deadline !== undefined);
    if (timer.handleTimeout(deadline)) at.push(deadline);
  }
  return at;
}

Deno.test("doubles from 1 s up to the 60 s cap, then stays there", () => {
  const timer = new RetransmitTimer(0, { handshakeTimeoutMs: 1_000_000 });
  timer.start(0);
  assert.deepEqual(
    expiries(timer, 9),
    [1_000, 3_000, 7_000, 15_000, 31_000, 63_000, 123_000, 183_000, 243_000],
  );
  assert.equal(timer.timeoutMs, 60_000);
  assert.equal(timer.retransmissions, 9);
});

Deno.test("configurable initial and maximum timeouts", () => {
  const timer = new RetransmitTimer(500, {
    initialTimeoutMs: 100,
    maxTimeoutMs: 350,
    handshakeTimeoutMs: 10_000,
  });
  timer.start(500);
  assert.deepEqual(expiries(timer, 4), [600, 800, 1_150, 1_500]);
});

Deno.test("nothing happens before the deadline, and late calls act once", () => {
  const timer = new RetransmitTimer(0);
  timer.start(0);
  assert.equal(timer.handleTimeout(999), false);
  assert.equal(timer.pollTimeout(), 1_000);
  assert.equal(timer.handleTimeout(5_000), true);
  assert.equal(timer.pollTimeout(), 7_000);
  assert.equal(timer.handleTimeout(5_000), false);
});

Deno.test("without a flight in the air only the handshake deadline is pending", () => {
  const timer = new RetransmitTimer(10);
  assert.equal(timer.running, false);
  assert.equal(timer.pollTimeout(), 10 + DEFAULT_HANDSHAKE_TIMEOUT_MS);
  assert.equal(timer.handleTimeout(5_000), false);
  timer.start(100);
  assert.equal(timer.running, true);
  timer.stop();
  assert.equal(timer.running, false);
  assert.equal(timer.pollTimeout(), 10 + DEFAULT_HANDSHAKE_TIMEOUT_MS);
});

Deno.test("a clean flight resets the backed-off timeout; a lossy one keeps it", () => {
  const timer = new RetransmitTimer(0, { handshakeTimeoutMs: 1_000_000 });
  timer.start(0);
  expiries(timer, 2);
  assert.equal(timer.timeoutMs, 4_000);
  timer.stop();
  timer.start(10_000);
  assert.equal(timer.pollTimeout(), 14_000, "the next flight starts with the backed-off value");
  timer.stop();
  assert.equal(timer.timeoutMs, 1_000, "that flight got through cleanly");
  timer.start(20_000);
  timer.restart(20_500);
  assert.equal(timer.pollTimeout(), 21_500, "a peer-requested resend does not double");
  timer.stop();
  assert.equal(timer.timeoutMs, 1_000);
});

Deno.test("the handshake deadline throws a typed timeout error, even mid-flight", () => {
  const timer = new RetransmitTimer(1_000, { handshakeTimeoutMs: 10_000 });
  timer.start(1_000);
  const resends = expiries(timer, 3);
  assert.deepEqual(resends, [2_000, 4_000, 8_000]);
  assert.equal(timer.pollTimeout(), 11_000, "the deadline comes before the next expiry");
  assert.throws(
    () => timer.handleTimeout(11_000),
    (err: unknown) =>
      err instanceof DtlsHandshakeTimeoutError && err.name === "DtlsHandshakeTimeoutError" &&
      err.elapsedMs === 10_000 && err.retransmissions === 3,
  );
  assert.equal(timer.running, false);
});

Deno.test("a finished handshake has no deadline and never times out", () => {
  const timer = new RetransmitTimer(0, { handshakeTimeoutMs: 100 });
  timer.start(0);
  timer.finish();
  assert.equal(timer.pollTimeout(), undefined);
  assert.equal(timer.handleTimeout(1e9), false);
});

Deno.test("the timeout error carries a cause", () => {
  const cause = new Error("socket closed");
  const err = new DtlsHandshakeTimeoutError({ elapsedMs: 1, retransmissions: 0, cause });
  assert.equal(err.cause, cause);
  assert.match(err.message, /timed out after 1 ms and 0 retransmissions/);
});

Deno.test("rejects timeouts that are not positive or a cap below the initial value", () => {
  assert.throws(() => new RetransmitTimer(0, { initialTimeoutMs: 0 }), RangeError);
  assert.throws(() => new RetransmitTimer(0, { maxTimeoutMs: -1 }), RangeError);
  assert.throws(() => new RetransmitTimer(0, { handshakeTimeoutMs: NaN }), RangeError);
  assert.throws(
    () => new RetransmitTimer(0, { initialTimeoutMs: 2_000, maxTimeoutMs: 1_000 }),
    RangeError,
  );
});
