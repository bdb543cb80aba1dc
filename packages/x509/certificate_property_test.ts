/**
 * Property tests of certificate parsing: the test PKI's certificates bent by one edit (a byte
 * set, inserted or removed, a cut, a tail appended) parse into a `Certificate` that keeps
 * exactly those bytes, or are refused with a `CertificateError` (`malformed`, carrying the
 * `DerError`); PEM round-trips any DER, and PEM text of any shape gives certificates or a
 * `SyntaxError`, nothing else.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseCertificate } from "./certificate.ts";
import { DerError } from "./der.ts";
import { CertificateError } from "./errors.ts";
import { parsePem, toPem } from "./pem.ts";
import { fixtureDer, fixtureNames } from "./_test_util.ts";

const runs = { seed: 0x509, numRuns: 300 };
const fixtures = fixtureNames().map(fixtureDer);

const bent = fc.tuple(
  fc.constantFrom(...fixtures),
  fc.nat(),
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom("set", "insert", "delete", "cut", "append"),
).map(([der, where, byte, edit]) => {
  const bytes = [...der];
  const at = where % bytes.length;
  if (edit === "set") bytes[at] = byte;
  if (edit === "insert") bytes.splice(at, 0, byte);
  if (edit === "delete") bytes.splice(at, 1);
  if (edit === "cut") bytes.length = at;
  if (edit === "append") bytes.push(byte);
  return Uint8Array.from(bytes);
});

function assertMalformed(error: unknown): void {
  assert.ok(error instanceof CertificateError, `not a CertificateError: ${error}`);
  assert.equal(error.reason, "malformed");
  assert.ok(error.cause instanceof DerError, "no DerError cause");
}

Deno.test("certificate property: bent certificates parse to themselves or are malformed", () => {
  fc.assert(
    fc.property(fc.oneof(bent, fc.uint8Array({ maxLength: 200 })), fc.nat(9), (der, index) => {
      try {
        const certificate = parseCertificate(der, { index });
        assert.deepEqual(certificate.der, der);
        assert.ok(certificate.tbs.length < der.length);
      } catch (error) {
        assertMalformed(error);
        assert.equal((error as CertificateError).index, index);
      }
    }),
    runs,
  );
});

Deno.test("certificate property: every truncation and any trailing bytes are malformed", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...fixtures),
      fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
      (der, cut, tail) => {
        assert.throws(() => parseCertificate(der.subarray(0, cut % der.length)), (e) => {
          assertMalformed(e);
          return true;
        });
        assert.throws(() => parseCertificate(Uint8Array.of(...der, ...tail)), (e) => {
          assertMalformed(e);
          return true;
        });
      },
    ),
    runs,
  );
});

Deno.test("PEM property: toPem then parsePem gives the same DER blocks", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom(...fixtures), fc.uint8Array({ maxLength: 300 })), {
        maxLength: 4,
      }),
      fc.string(),
      (ders, noise) => {
        // Text around the blocks is ignored, as long as it holds no block markers itself.
        fc.pre(!noise.includes("-----"));
        assert.deepEqual(parsePem(noise + toPem(ders) + noise), ders);
      },
    ),
    runs,
  );
});

Deno.test("PEM property: any text gives certificates or a SyntaxError", () => {
  const armoured = fc.string({ unit: fc.constantFrom(..."AZaz09+/= \n-\r!é"), maxLength: 200 })
    .map((body) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`);
  fc.assert(
    fc.property(fc.oneof(fc.string(), armoured), (text) => {
      try {
        for (const der of parsePem(text)) assert.ok(der instanceof Uint8Array);
      } catch (error) {
        assert.ok(error instanceof SyntaxError, `not a SyntaxError: ${error}`);
      }
    }),
    runs,
  );
});
