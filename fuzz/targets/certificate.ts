/**
 * Certificate target: `parseCertificate` on arbitrary DER, then the accessors a handshake
 * uses (host name check, PEM round trip). Oracles: refusals are `CertificateError`s with
 * reason `malformed` and a `DerError` cause; an accepted certificate keeps exactly the input as
 * its DER, its TBS bytes lie inside it, and its PEM form parses back to the same bytes.
 *
 * @module
 */

import {
  CertificateError,
  DerError,
  namesCoverHost,
  parseCertificate,
  parsePem,
  toPem,
} from "@anchortls/x509";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

function contains(outer: Uint8Array, inner: Uint8Array): boolean {
  for (let i = 0; i + inner.length <= outer.length; i++) {
    if (sameBytes(outer.subarray(i, i + inner.length), inner)) return true;
  }
  return false;
}

const target: FuzzTarget = {
  name: "certificate",
  corpus: "certificate",
  run(input) {
    let certificate;
    try {
      certificate = parseCertificate(input);
    } catch (error) {
      if (error instanceof CertificateError) {
        check(error.reason === "malformed", `reason ${error.reason} for a parse error`);
        check(error.cause instanceof DerError, "parse error without its DerError");
      }
      throw error;
    }
    check(sameBytes(certificate.der, input), "certificate DER is not the input");
    check(contains(input, certificate.tbs), "TBS bytes are not inside the certificate");
    const pem = parsePem(toPem([input]));
    check(pem.length === 1 && sameBytes(pem[0]!, input), "PEM round trip changed the bytes");
    const covers = namesCoverHost(certificate.subjectAltNames, "localhost");
    const { version, publicKey, extensions } = certificate;
    return `v${version} ${publicKey.kind} ${extensions.length} ext ${covers}`;
  },
  expected: (error) => error instanceof CertificateError,
};

export default target;
