/**
 * Certificate revocation lists (RFC 5280 §5): parsed strictly, and applied by `verifyChain`
 * to each certificate of a path whose issuer a CRL is for. A CRL is used only when its
 * signature verifies with that issuer's key (whose keyUsage, if present, allows cRLSign), its
 * thisUpdate has come and its nextUpdate not passed, and every critical extension is one this
 * package processes; a CRL for the issuer that fails any of these fails the chain (`bad_crl`),
 * as a revocation check that cannot be done must not pass silently. A listed serial fails the
 * chain as `revoked`. Delta CRLs, indirect CRLs (certificateIssuer entries) and
 * issuingDistributionPoint scopes are not processed: as critical extensions they make the CRL
 * unusable.
 *
 * @module
 */

import { readSignatureAlgorithm, type SignatureAlgorithm } from "./algorithm.ts";
import { decodeBitString, DerError, DerReader, TagClass } from "./der.ts";
import { CertificateError } from "./errors.ts";
import { type CertificateExtension, readExtensions } from "./extensions.ts";
import { bytesEqual, type DistinguishedName, readName } from "./name.ts";
import type { Certificate } from "./certificate.ts";
import { parsePem } from "./pem.ts";
import { verifySignature } from "./signature.ts";

const CRL_NUMBER = "2.5.29.20";
const AUTHORITY_KEY_IDENTIFIER = "2.5.29.35";
const REASON_CODE = "2.5.29.21";
const INVALIDITY_DATE = "2.5.29.24";

/** One revoked certificate of a CRL. */
export interface RevokedEntry {
  /** The revocation date. */
  readonly date: Date;
  /** The CRLReason code (RFC 5280 §5.3.1), when the entry gives one. */
  readonly reason?: number;
}

/** A parsed CRL. */
export interface Crl {
  /** The DER it was parsed from. */
  readonly der: Uint8Array;
  /** The signed part, for the signature check. */
  readonly tbs: Uint8Array;
  /** The signature algorithm. */
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The signature. */
  readonly signature: Uint8Array;
  /** The CRL issuer. */
  readonly issuer: DistinguishedName;
  /** When it was issued. */
  readonly thisUpdate: Date;
  /** When the next one is due, if said. */
  readonly nextUpdate: Date | undefined;
  /** Revoked serial numbers (hex, as `Certificate.serialNumber`). */
  readonly revoked: ReadonlyMap<string, RevokedEntry>;
  /** The cRLNumber, in hex, if present. */
  readonly crlNumber: string | undefined;
  /** The authorityKeyIdentifier's keyIdentifier, if present. */
  readonly authorityKeyId: Uint8Array | undefined;
  /** Critical extensions (of the CRL or an entry) this package does not process. */
  readonly unsupportedCritical: readonly string[];
}

function extensionsOf(reader: DerReader): readonly CertificateExtension[] {
  return readExtensions(reader).all;
}

function decodeCrl(der: Uint8Array): Crl {
  const outer = new DerReader(der);
  const list = outer.readSequence();
  outer.expectEnd();
  const tbsEl = list.expect(TagClass.universal, true, 16, "TBSCertList");
  const algAt = list.offset;
  const algEl = list.expect(TagClass.universal, true, 16, "signatureAlgorithm");
  const signatureAlgorithm = readSignatureAlgorithm(new DerReader(algEl.raw, algAt, 1));
  const sigEl = list.expect(TagClass.universal, false, 3, "signatureValue");
  const sig = decodeBitString(sigEl);
  if (sig.unusedBits) throw new DerError("signature has unused bits", sigEl.offset);
  list.expectEnd();

  const tbs = list.enter(tbsEl);
  let v2 = false;
  if (tbs.nextIs(TagClass.universal, 2)) {
    const at = tbs.offset;
    if (tbs.readSmallInteger() !== 1) throw new DerError("CRL version must be v2", at);
    v2 = true;
  }
  const innerAlg = tbs.expect(TagClass.universal, true, 16, "signature");
  if (!bytesEqual(innerAlg.raw, algEl.raw)) {
    throw new DerError(
      "TBSCertList signature algorithm differs from the outer one",
      innerAlg.offset,
    );
  }
  const issuer = readName(tbs);
  const thisUpdate = tbs.readTime();
  let nextUpdate: Date | undefined;
  if (tbs.nextIs(TagClass.universal, 23) || tbs.nextIs(TagClass.universal, 24)) {
    nextUpdate = tbs.readTime();
  }
  const unsupportedCritical: string[] = [];
  const revoked = new Map<string, RevokedEntry>();
  if (tbs.nextIs(TagClass.universal, 16)) {
    const entries = tbs.readSequence();
    while (!entries.atEnd) {
      const entry = entries.readSequence();
      const serial = entry.readIntegerBytes().toHex();
      const date = entry.readTime();
      let reason: number | undefined;
      if (!entry.atEnd) {
        if (!v2) throw new DerError("entry extensions in a v1 CRL", entry.offset);
        for (const ext of extensionsOf(entry.readSequence())) {
          if (ext.oid === REASON_CODE) {
            const r = new DerReader(ext.value);
            const el = r.expect(TagClass.universal, false, 10, "CRLReason");
            r.expectEnd();
            reason = el.contents[0];
          } else if (ext.critical && ext.oid !== INVALIDITY_DATE) {
            unsupportedCritical.push(ext.oid);
          }
        }
      }
      entry.expectEnd();
      revoked.set(serial, { date, ...(reason !== undefined ? { reason } : {}) });
    }
  }
  let crlNumber: string | undefined;
  let authorityKeyId: Uint8Array | undefined;
  if (tbs.nextIs(TagClass.contextSpecific, 0)) {
    if (!v2) throw new DerError("extensions in a v1 CRL", tbs.offset);
    const wrapper = tbs.readExplicit(0);
    for (const ext of extensionsOf(wrapper.readSequence())) {
      if (ext.oid === CRL_NUMBER) {
        const r = new DerReader(ext.value);
        crlNumber = r.readIntegerBytes().toHex();
        r.expectEnd();
      } else if (ext.oid === AUTHORITY_KEY_IDENTIFIER) {
        const r = new DerReader(ext.value).readSequence();
        if (r.nextIs(TagClass.contextSpecific, 0)) {
          authorityKeyId = r.expect(TagClass.contextSpecific, false, 0, "keyIdentifier").contents;
        }
      } else if (ext.critical) {
        unsupportedCritical.push(ext.oid);
      }
    }
    wrapper.expectEnd();
  }
  tbs.expectEnd();
  return {
    der,
    tbs: tbsEl.raw,
    signatureAlgorithm,
    signature: sig.bytes,
    issuer,
    thisUpdate,
    nextUpdate,
    revoked,
    crlNumber,
    authorityKeyId,
    unsupportedCritical,
  };
}

/**
 * Parses a DER CRL.
 *
 * @example
 * ```ts ignore
 * import { parseCrl, parsePem } from "@anchortls/x509";
 * const crl = parseCrl(parsePem(await Deno.readTextFile("ca.crl.pem"), "X509 CRL")[0]!);
 * crl.revoked.size;
 * ```
 *
 * @param der The CRL.
 * @returns The parsed CRL.
 * @throws {CertificateError} `bad_crl` for malformed DER, with the `DerError` as `cause`.
 */
export function parseCrl(der: Uint8Array): Crl {
  try {
    return decodeCrl(der);
  } catch (e) {
    if (e instanceof DerError) throw new CertificateError("bad_crl", 0, e.message, { cause: e });
    throw e;
  }
}

/** A CRL as `verifyChain` takes it: parsed, DER, or PEM text (one or more `X509 CRL` blocks). */
export type CrlInput = Crl | Uint8Array | string;

/**
 * Parses CRLs given in any of the forms `verifyChain` takes, e.g. once for many handshakes.
 *
 * @param inputs Parsed CRLs, DER, or PEM text.
 * @returns The parsed CRLs.
 * @throws {CertificateError} `bad_crl` for one that does not parse, or PEM text without a CRL.
 */
export function parseCrls(inputs: readonly CrlInput[]): Crl[] {
  return inputs.flatMap((input) => {
    if (input instanceof Uint8Array) return [parseCrl(input)];
    if (typeof input !== "string") return [input];
    const blocks = parsePem(input, "X509 CRL");
    if (blocks.length === 0) throw new CertificateError("bad_crl", 0, "no X509 CRL block in PEM");
    return blocks.map(parseCrl);
  });
}

/** Options of the revocation check that come from `verifyChain`. */
export interface RevocationPolicy {
  /** The validation time, in whole seconds. */
  readonly now: Date;
  /** Accept a SHA-1 signed CRL. */
  readonly allowSha1: boolean;
}

/**
 * Fails a path one of whose certificates (the anchor aside) a CRL from its issuer lists.
 * Only CRLs for that issuer count: the same name, and the same key where both say which
 * (authorityKeyIdentifier beside subjectKeyIdentifier), so a CRL of a rolled-over key is not
 * taken for the new key's. A certificate no CRL is for passes, as in mbedTLS: the caller
 * decides which CRLs it must have.
 *
 * @param path The path, leaf first, anchor last.
 * @param crls The CRLs.
 * @param policy Time and hash policy.
 * @throws {CertificateError} `bad_crl` for a CRL that cannot be used, `revoked` for a listed
 * serial.
 */
export async function checkRevocation(
  path: readonly Certificate[],
  crls: readonly Crl[],
  policy: RevocationPolicy,
): Promise<void> {
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    for (const crl of crls) {
      if (!crl.issuer.equals(cert.issuer)) continue;
      const ski = issuer.subjectKeyIdentifier;
      if (crl.authorityKeyId && ski && !bytesEqual(crl.authorityKeyId, ski)) continue;
      await checkUsable(crl, issuer, i, policy);
      const entry = crl.revoked.get(cert.serialNumber);
      if (entry && entry.date <= policy.now) {
        throw new CertificateError(
          "revoked",
          i,
          `serial ${cert.serialNumber} revoked ${entry.date.toISOString()} by "${crl.issuer}"` +
            (entry.reason !== undefined ? ` (reason ${entry.reason})` : ""),
        );
      }
    }
  }
}

async function checkUsable(
  crl: Crl,
  issuer: Certificate,
  index: number,
  policy: RevocationPolicy,
): Promise<void> {
  const bad: (message: string) => never = (message) => {
    throw new CertificateError("bad_crl", index, `CRL of "${crl.issuer}": ${message}`);
  };
  if (issuer.keyUsage && !issuer.keyUsage.cRLSign) bad("issuer keyUsage lacks cRLSign");
  if (crl.unsupportedCritical.length > 0) {
    bad(`critical extension ${crl.unsupportedCritical.join(", ")} is not processed`);
  }
  const alg = crl.signatureAlgorithm;
  if (alg.kind === "unsupported") bad(`unsupported signature algorithm ${alg.oid}`);
  if (alg.hash === "SHA-1" && !policy.allowSha1) bad("SHA-1 signature");
  if (!(await verifySignature(issuer.publicKey, alg, crl.tbs, crl.signature))) {
    bad("signature does not verify with the issuer's key");
  }
  if (policy.now < crl.thisUpdate) bad(`not valid before ${crl.thisUpdate.toISOString()}`);
  if (crl.nextUpdate && policy.now > crl.nextUpdate) {
    bad(`stale since ${crl.nextUpdate.toISOString()}`);
  }
}
