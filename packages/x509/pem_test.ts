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

Deno.test("pem: reads blocks of another label and only those", () => {
  const text = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n" +
    "-----BEGIN RSA PRIVATE KEY-----\nAQI=\n-----END RSA PRIVATE KEY-----\n" +
    "-----BEGIN PRIVATE KEY-----\r\nAQID\r\nBA==\r\n-----END PRIVATE KEY-----\r\n";
  assert.deepEqual(parsePem(text, "PRIVATE KEY"), [Uint8Array.of(1, 2, 3, 4)]);
  assert.deepEqual(parsePem(text, "RSA PRIVATE KEY"), [Uint8Array.of(1, 2)]);
  assert.deepEqual(parsePem(text), [Uint8Array.of(0x30, 0x00)]);
  const key = Deno.readTextFileSync(new URL("client.key", testdata));
  assert.equal(parsePem(key, "PRIVATE KEY").length, 1);
  assert.deepEqual(parsePem(key), []);
});

Deno.test("pem: a label that is not upper-case words is a RangeError", () => {
  for (const label of ["", "private key", "X.509", "A  B", "CERTIFICATE-----", " KEY"]) {
    assert.throws(() => parsePem("", label), RangeError, label);
  }
});
