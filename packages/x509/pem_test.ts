import assert from "node:assert/strict";
import { parsePem, toPem } from "./pem.ts";
import { fixtureDer, testdata } from "./_test_util.ts";

Deno.test("pem: reads every CERTIFICATE block and ignores the rest", () => {
  const a = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01);
  const b = Uint8Array.of(0x30, 0x00);
  const text = "subject=CN=a\r\n" + toPem([a]).replaceAll("\n", "\r\n") +
    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\nnoise\n" + toPem([b]);
  assert.deepEqual(parsePem(text), [a, b]);
  assert.deepEqual(parsePem("no blocks here"), []);
});

Deno.test("pem: round trip of the chain file", () => {
  const text = Deno.readTextFileSync(new URL("chain.pem", testdata));
  const ders = parsePem(text);
  assert.equal(ders.length, 2);
  assert.deepEqual(ders[0], fixtureDer("leaf.pem"));
  assert.deepEqual(ders[1], fixtureDer("intermediate.pem"));
  assert.deepEqual(parsePem(toPem(ders)), ders);
});

Deno.test("pem: bad base64 is a SyntaxError", () => {
  assert.throws(
    () => parsePem("-----BEGIN CERTIFICATE-----\nAB=C\n-----END CERTIFICATE-----"),
    SyntaxError,
  );
});
