import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import { CertificateError, type CertificateErrorReason } from "@anchortls/x509";
import { alertFor, alertForError, certificateAlert } from "./alert_mapping.ts";
import { HandshakeTimeoutError } from "./handshake_timeout.ts";
import { TruncationError } from "./truncation_error.ts";

const table: [string, unknown, number | undefined][] = [
  ["local decode_error", new TlsAlertError(AlertDescription.decode_error), 50],
  ["local unexpected_message", new TlsAlertError(AlertDescription.unexpected_message), 10],
  ["local protocol_version", new TlsAlertError(AlertDescription.protocol_version), 70],
  ["local unsupported_extension", new TlsAlertError(AlertDescription.unsupported_extension), 110],
  ["local decrypt_error", new TlsAlertError(AlertDescription.decrypt_error), 51],
  ["local bad_record_mac", new TlsAlertError(AlertDescription.bad_record_mac), 20],
  ["peer handshake_failure", new TlsAlertError(40, "x", { fromPeer: true }), undefined],
  ["peer close_notify", new TlsAlertError(0, "x", { fromPeer: true, level: 1 }), undefined],
  ["expired certificate", new CertificateError("expired", 0), 45],
  ["unknown issuer", new CertificateError("unknown_issuer", 1), 48],
  ["hostname mismatch", new CertificateError("hostname_mismatch", 0), 42],
  ["malformed certificate", new CertificateError("malformed", 0), 42],
  ["abort", new DOMException("stop", "AbortError"), 90],
  ["AbortSignal.timeout", new DOMException("late", "TimeoutError"), 90],
  ["other DOMException", new DOMException("x", "NetworkError"), 80],
  ["programming error", new TypeError("bug"), 80],
  ["thrown string", "oops", 80],
];

for (const [name, error, alert] of table) {
  Deno.test(`alertForError: ${name} → ${alert ?? "no alert"}`, () => {
    assert.equal(alertForError(error), alert);
  });
}

Deno.test("certificateAlert: every certificate failure maps to one of the six certificate alerts", () => {
  const table: Record<CertificateErrorReason, number> = {
    malformed: 42,
    malformed_name: 42,
    profile: 42,
    bad_signature: 42,
    hostname_mismatch: 42,
    unsupported_algorithm: 43,
    unsupported_key: 43,
    weak_key: 43,
    weak_signature_algorithm: 43,
    unknown_critical_extension: 43,
    key_usage: 43,
    ext_key_usage: 43,
    expired: 45,
    not_yet_valid: 45,
    not_ca: 46,
    path_length_exceeded: 46,
    max_depth_exceeded: 46,
    name_constraints: 46,
    name_constraints_budget: 46,
    policy: 46,
    unknown_issuer: 48,
    self_signed: 48,
    revoked: 44,
    bad_crl: 42,
  };
  for (const [reason, alert] of Object.entries(table)) {
    assert.equal(certificateAlert(reason as CertificateErrorReason), alert, reason);
    assert.equal(
      alertForError(new CertificateError(reason as CertificateErrorReason, 0)),
      alert,
      reason,
    );
  }
});

Deno.test("alertFor: user_canceled goes as a warning, everything else fatal, timeouts and truncation get none", () => {
  assert.deepEqual(alertFor(new DOMException("", "AbortError")), { level: 1, description: 90 });
  assert.deepEqual(alertFor(new DOMException("", "TimeoutError")), { level: 1, description: 90 });
  assert.deepEqual(alertFor(new TlsAlertError(AlertDescription.decode_error)), {
    level: 2,
    description: 50,
  });
  assert.deepEqual(alertFor(new Error("bug")), { level: 2, description: 80 });
  assert.equal(alertFor(new HandshakeTimeoutError(1)), undefined);
  assert.equal(alertFor(new TruncationError()), undefined);
  assert.equal(alertFor(new TlsAlertError(40, "", { fromPeer: true })), undefined);
});
