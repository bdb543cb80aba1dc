import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import { decodeHelloVerifyRequest, encodeHelloVerifyRequest } from "./hello_verify_request.ts";

// Shaped as openssl s_server -dtls1_2 sends it: server_version 0xfefd and a 20-byte cookie.
const captured = Uint8Array.fromHex("fefd14" + "a1".repeat(20));

Deno.test("HelloVerifyRequest round-trips a captured body", () => {
  const hvr = decodeHelloVerifyRequest(captured);
  assert.equal(hvr.version, 0xfefd);
  assert.equal(hvr.cookie.length, 20);
  assert.deepEqual(encodeHelloVerifyRequest(hvr), captured);
});

Deno.test("HelloVerifyRequest with an empty cookie round-trips", () => {
  const body = encodeHelloVerifyRequest({ version: 0xfeff, cookie: new Uint8Array(0) });
  assert.deepEqual(body, Uint8Array.of(0xfe, 0xff, 0));
  assert.deepEqual(decodeHelloVerifyRequest(body).cookie, new Uint8Array(0));
});

Deno.test("HelloVerifyRequest rejects every truncation and trailing data", () => {
  for (let n = 0; n < captured.length; n++) {
    assert.throws(
      () => decodeHelloVerifyRequest(captured.subarray(0, n)),
      (e: unknown) => e instanceof TlsAlertError && e.description === AlertDescription.decode_error,
      `truncated to ${n}`,
    );
  }
  assert.throws(
    () => decodeHelloVerifyRequest(Uint8Array.of(...captured, 0)),
    (e: unknown) => e instanceof TlsAlertError && e.description === AlertDescription.decode_error,
  );
});
