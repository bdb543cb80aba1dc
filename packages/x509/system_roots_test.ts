import assert from "node:assert/strict";
import { parseCertificate } from "./certificate.ts";
import { parsePem } from "./pem.ts";
import { verifySignature } from "./signature.ts";

/** Debian's CA bundle: real-world roots from many CAs and many years. */
const bundle = "/etc/ssl/certs/ca-certificates.crt";
const present = (() => {
  try {
    return Deno.statSync(bundle).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "system roots: every root parses and its self-signature verifies",
  ignore: !present,
  permissions: { read: [bundle] },
  async fn() {
    const ders = parsePem(await Deno.readTextFile(bundle));
    assert.ok(ders.length > 50);
    for (const der of ders) {
      const cert = parseCertificate(der);
      assert.ok(cert.selfIssued, cert.subject.toString());
      assert.equal(
        await verifySignature(cert.publicKey, cert.signatureAlgorithm, cert.tbs, cert.signature),
        true,
        cert.subject.toString(),
      );
    }
  },
});
