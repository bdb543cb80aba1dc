import assert from "node:assert/strict";
import { AlertDescription as D, AlertLevel as L, TlsAlertError } from "@anchortls/record";
import { AlertPolicy, MAX_CONSECUTIVE_WARNING_ALERTS } from "./alert_policy.ts";

Deno.test("AlertPolicy: what each received alert does, during and after the handshake", () => {
  // [level, description, handshaking, outcome, alert, level reported]
  const cases: [number, number, boolean, string, number?, number?][] = [
    [L.warning, D.close_notify, false, "closed"],
    [L.warning, D.close_notify, true, "failed", D.close_notify, L.warning],
    // A fatal close_notify is a fatal alert (the session is not resumed), not a clean close.
    [L.fatal, D.close_notify, false, "failed", D.close_notify, L.fatal],
    [L.fatal, D.close_notify, true, "failed", D.close_notify, L.fatal],
    [L.fatal, D.handshake_failure, true, "failed", D.handshake_failure, L.fatal],
    [L.fatal, D.bad_record_mac, false, "failed", D.bad_record_mac, L.fatal],
    [7, D.no_renegotiation, false, "failed", D.no_renegotiation, L.fatal], // unknown level
    [L.warning, D.user_canceled, true, "failed", D.user_canceled, L.warning],
    [L.warning, D.user_canceled, false, "ignored"],
    [L.warning, D.no_renegotiation, false, "ignored"],
  ];
  for (const [level, description, handshaking, kind, alert, reported] of cases) {
    const outcome = new AlertPolicy().received(level, description, handshaking);
    const name = `${level}/${description}/${handshaking}`;
    assert.equal(outcome.kind, kind, name);
    if (outcome.kind === "failed") {
      assert.ok(outcome.error instanceof TlsAlertError && outcome.error.fromPeer, name);
      assert.equal(outcome.error.description, alert, name);
      assert.equal(outcome.error.level, reported, name);
    }
  }
});

Deno.test("AlertPolicy: warnings in a row are limited; progress starts the count over", () => {
  const policy = new AlertPolicy();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < MAX_CONSECUTIVE_WARNING_ALERTS; i++) {
      assert.equal(policy.received(L.warning, 100, false).kind, "ignored");
    }
    policy.progress();
  }
  for (let i = 0; i < MAX_CONSECUTIVE_WARNING_ALERTS; i++) policy.received(L.warning, 100, false);
  const outcome = policy.received(L.warning, 100, false);
  assert.ok(outcome.kind === "failed" && !outcome.error.fromPeer);
  assert.equal(outcome.error.description, D.unexpected_message);
});
