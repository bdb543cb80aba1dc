/**
 * Signature AlgorithmIdentifiers (RFC 5280 §4.1.1.2, RFC 4055 for RSASSA-PSS, RFC 5758 for
 * ECDSA).
 *
 * @module
 */

import { DerError, type DerReader, TagClass } from "./der.ts";
import { Oid } from "./oid.ts";

/** Hash functions a signature may use. */
export type HashName = "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";

/** A signature algorithm, decoded from an AlgorithmIdentifier. */
export type SignatureAlgorithm =
  | { readonly kind: "rsa-pkcs1"; readonly hash: HashName; readonly oid: string }
  | {
    readonly kind: "rsa-pss";
    readonly hash: HashName;
    readonly mgfHash: HashName;
    readonly saltLength: number;
    readonly oid: string;
  }
  | { readonly kind: "ecdsa"; readonly hash: HashName; readonly oid: string }
  | { readonly kind: "unsupported"; readonly oid: string };

/** Parameterless algorithms are shared, frozen values. */
const pkcs1: ReadonlyMap<string, SignatureAlgorithm> = fixed("rsa-pkcs1", [
  [Oid.sha1WithRsa, "SHA-1"],
  [Oid.sha256WithRsa, "SHA-256"],
  [Oid.sha384WithRsa, "SHA-384"],
  [Oid.sha512WithRsa, "SHA-512"],
]);

const ecdsa: ReadonlyMap<string, SignatureAlgorithm> = fixed("ecdsa", [
  [Oid.ecdsaWithSha1, "SHA-1"],
  [Oid.ecdsaWithSha256, "SHA-256"],
  [Oid.ecdsaWithSha384, "SHA-384"],
  [Oid.ecdsaWithSha512, "SHA-512"],
]);

function fixed(
  kind: "rsa-pkcs1" | "ecdsa",
  entries: [string, HashName][],
): ReadonlyMap<string, SignatureAlgorithm> {
  return new Map(entries.map(([oid, hash]) => [oid, Object.freeze({ kind, hash, oid })]));
}

const hashes: ReadonlyMap<string, HashName> = new Map([
  [Oid.sha1, "SHA-1"],
  [Oid.sha256, "SHA-256"],
  [Oid.sha384, "SHA-384"],
  [Oid.sha512, "SHA-512"],
]);

/**
 * Reads a signature AlgorithmIdentifier.
 *
 * PKCS#1 v1.5 identifiers must carry a NULL parameter and ECDSA ones none (RFC 5758 §3.2).
 * An algorithm we do not know still decodes, as `unsupported`, so the certificate parses and
 * validation can name the problem.
 *
 * @param reader Positioned at the AlgorithmIdentifier SEQUENCE.
 * @returns The algorithm.
 */
export function readSignatureAlgorithm(reader: DerReader): SignatureAlgorithm {
  const seq = reader.readSequence();
  const oid = seq.readOid();
  const pkcs1Alg = pkcs1.get(oid);
  if (pkcs1Alg) {
    seq.readNull();
    seq.expectEnd();
    return pkcs1Alg;
  }
  const ecdsaAlg = ecdsa.get(oid);
  if (ecdsaAlg) {
    seq.expectEnd();
    return ecdsaAlg;
  }
  if (oid === Oid.rsassaPss) {
    const params = readPssParams(seq.readSequence());
    seq.expectEnd();
    return { kind: "rsa-pss", oid, ...params };
  }
  if (!seq.atEnd) seq.read();
  seq.expectEnd();
  return { kind: "unsupported", oid };
}

function readHashAlgorithm(r: DerReader): HashName {
  const seq = r.readSequence();
  const at = seq.offset;
  const hash = hashes.get(seq.readOid());
  if (!hash) throw new DerError("unsupported hash algorithm", at);
  // RFC 4055 §2.1 lets the NULL parameter be present or absent.
  if (!seq.atEnd) seq.readNull();
  seq.expectEnd();
  return hash;
}

function readPssParams(
  seq: DerReader,
): { hash: HashName; mgfHash: HashName; saltLength: number } {
  let hash: HashName = "SHA-1";
  let mgfHash: HashName = "SHA-1";
  let saltLength = 20;
  if (seq.nextIs(TagClass.contextSpecific, 0)) {
    const r = seq.readExplicit(0);
    hash = readHashAlgorithm(r);
    r.expectEnd();
  }
  if (seq.nextIs(TagClass.contextSpecific, 1)) {
    const r = seq.readExplicit(1);
    const mgf = r.readSequence();
    r.expectEnd();
    const at = mgf.offset;
    if (mgf.readOid() !== Oid.mgf1) throw new DerError("unsupported mask generation function", at);
    mgfHash = readHashAlgorithm(mgf);
    mgf.expectEnd();
  }
  if (seq.nextIs(TagClass.contextSpecific, 2)) {
    const r = seq.readExplicit(2);
    saltLength = r.readSmallInteger();
    r.expectEnd();
  }
  if (seq.nextIs(TagClass.contextSpecific, 3)) {
    const r = seq.readExplicit(3);
    const at = r.offset;
    if (r.readSmallInteger() !== 1) throw new DerError("PSS trailerField must be 1", at);
    r.expectEnd();
  }
  seq.expectEnd();
  return { hash, mgfHash, saltLength };
}
