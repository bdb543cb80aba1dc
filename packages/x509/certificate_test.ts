import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { Certificate, parseCertificate, parseCertificateChain } from "./certificate.ts";
import { DerError } from "./der.ts";
import { CertificateError } from "./errors.ts";
import { parsePem } from "./pem.ts";
import { fixture, fixtureDer, fixtureNames, seededRandom, testdata } from "./_test_util.ts";

function assertMalformed(fn: () => unknown, index = 0): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CertificateError, `not a CertificateError: ${e}`);
    assert.equal(e.reason, "malformed");
    assert.equal(e.index, index);
    assert.ok(e.cause instanceof DerError);
    return true;
  });
}

Deno.test("certificate: the server leaf decodes field by field", () => {
  const der = fixtureDer("leaf.pem");
  const cert = parseCertificate(der);
  assert.ok(cert instanceof Certificate);
  assert.equal(cert.version, 3);
  assert.equal(cert.subject.toString(), "CN=localhost,O=anchortls test");
  assert.equal(cert.issuer.toString(), "CN=anchortls test intermediate,O=anchortls test");
  assert.equal(cert.subject.commonName, "localhost");
  assert.deepEqual(cert.signatureAlgorithm, {
    kind: "rsa-pkcs1",
    hash: "SHA-256",
    oid: "1.2.840.113549.1.1.11",
  });
  assert.equal(cert.publicKey.kind, "rsa");
  if (cert.publicKey.kind === "rsa") {
    assert.equal(cert.publicKey.bits, 2048);
    assert.equal(cert.publicKey.exponent, 65537n);
  }
  assert.deepEqual(cert.subjectAltNames, [
    { type: "dns", value: "localhost" },
    { type: "ip", value: Uint8Array.of(127, 0, 0, 1) },
    { type: "ip", value: Uint8Array.of(...new Array(15).fill(0), 1) },
  ]);
  assert.deepEqual(cert.basicConstraints, { ca: false });
  assert.equal(cert.keyUsage?.digitalSignature, true);
  assert.equal(cert.keyUsage?.keyEncipherment, true);
  assert.equal(cert.keyUsage?.keyCertSign, false);
  assert.deepEqual(cert.extKeyUsage, ["1.3.6.1.5.5.7.3.1"]);
  assert.equal(cert.unknownCriticalExtensions.length, 0);
  assert.equal(cert.fingerprintSha256, sha256(der).toHex());
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 7300 * 86400_000);
  assert.ok(cert.der === der);
  assert.deepEqual(der.subarray(4, 4 + cert.tbs.length), cert.tbs);
  const ca = fixture("intermediate.pem");
  assert.deepEqual(cert.authorityKeyIdentifier?.keyIdentifier, ca.subjectKeyIdentifier);
  assert.deepEqual(ca.basicConstraints, { ca: true, pathLenConstraint: 0 });
});

Deno.test("certificate: EC, PSS, Ed25519 and client fixtures decode", () => {
  const ec = fixture("ec-chain-leaf.pem");
  assert.equal(ec.publicKey.kind, "ec");
  if (ec.publicKey.kind === "ec") {
    assert.equal(ec.publicKey.curve, "P-256");
    assert.equal(ec.publicKey.point.length, 65);
  }
  assert.deepEqual(ec.signatureAlgorithm, {
    kind: "ecdsa",
    hash: "SHA-384",
    oid: "1.2.840.10045.4.3.3",
  });
  const ca = fixture("ec-intermediate.pem");
  assert.equal(ca.publicKey.kind === "ec" && ca.publicKey.curve, "P-384");
  const pss = fixture("pss-leaf.pem");
  assert.deepEqual(pss.signatureAlgorithm, {
    kind: "rsa-pss",
    oid: "1.2.840.113549.1.1.10",
    hash: "SHA-256",
    mgfHash: "SHA-256",
    saltLength: 32,
  });
  const ed = fixture("ed25519-leaf.pem");
  assert.deepEqual(ed.publicKey.kind, "unsupported");
  const client = fixture("client.pem");
  assert.deepEqual(client.subjectAltNames, [
    { type: "email", value: "device@anchortls.test" },
    { type: "uri", value: "urn:anchortls:device:0001" },
  ]);
  const nc = fixture("nc-intermediate.pem");
  assert.deepEqual(nc.nameConstraints?.permitted.map((s) => s.base), [
    { type: "dns", value: "example.com" },
    { type: "ip", value: Uint8Array.of(10, 0, 0, 0, 255, 0, 0, 0) },
  ]);
  assert.deepEqual(fixture("critical-ext.pem").unknownCriticalExtensions, [
    "1.3.6.1.4.1.55555.1",
  ]);
});

Deno.test("certificate: chain parsing names the bad certificate", () => {
  const ders = parsePem(Deno.readTextFileSync(new URL("chain.pem", testdata)));
  assert.equal(parseCertificateChain(ders).length, 2);
  assertMalformed(() => parseCertificateChain([ders[0]!, ders[1]!.subarray(1)]), 1);
});

Deno.test("certificate: every truncation of every fixture is rejected", () => {
  for (const name of fixtureNames()) {
    const der = fixtureDer(name);
    for (let len = 0; len < der.length; len++) {
      assertMalformed(() => parseCertificate(der.subarray(0, len)));
    }
  }
});

Deno.test("certificate: trailing data is rejected", () => {
  const der = fixtureDer("leaf.pem");
  const longer = new Uint8Array(der.length + 1);
  longer.set(der);
  assertMalformed(() => parseCertificate(longer));
});

const cert = (der: Uint8Array): Certificate => parseCertificate(der);

Deno.test("certificate: tampered encodings are rejected", () => {
  const der = fixtureDer("leaf.pem");
  const oid = Uint8Array.fromHex("06092a864886f70d01010b");
  const hex = der.toHex();
  const at = hex.indexOf(oid.toHex()) / 2; // the TBS copy comes first
  assert.ok(at > 0 && at < cert(der).tbs.length);
  const changed = der.slice();
  changed[at + oid.length - 1] = 0x05; // sha256WithRSA -> sha1WithRSA in the TBS only
  assertMalformed(() => parseCertificate(changed));
});

Deno.test("certificate: seeded random mutations give a parse or a typed error", () => {
  const seed = 0x5eed509;
  const rand = seededRandom(seed);
  const sources = ["leaf.pem", "ec-chain-leaf.pem", "nc-intermediate.pem", "pss-leaf.pem"].map(
    fixtureDer,
  );
  let parsed = 0;
  for (let i = 0; i < 4000; i++) {
    const src = sources[i % sources.length]!;
    const der = src.slice();
    const edits = 1 + rand(4);
    for (let k = 0; k < edits; k++) {
      const at = rand(der.length);
      switch (rand(3)) {
        case 0:
          der[at] = rand(256);
          break;
        case 1:
          der[at]! ^= 1 << rand(8);
          break;
        default:
          der[at] = [0x00, 0x80, 0x81, 0x82, 0xff, 0x30, 0x05][rand(7)]!;
      }
    }
    try {
      parseCertificate(der);
      parsed++;
    } catch (e) {
      if (!(e instanceof CertificateError)) {
        throw new Error(`seed ${seed} iteration ${i}: ${e}`, { cause: e });
      }
    }
  }
  assert.ok(parsed > 0, "some mutations only touch signature or key bytes and still parse");
});
