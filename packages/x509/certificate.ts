/**
 * X.509 v1–v3 certificates (RFC 5280 §4.1), decoded from DER.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { readSignatureAlgorithm, type SignatureAlgorithm } from "./algorithm.ts";
import { decodeBitString, DerError, DerReader, TagClass } from "./der.ts";
import { CertificateError } from "./errors.ts";
import {
  type AuthorityKeyIdentifier,
  type BasicConstraints,
  type CertificateExtension,
  type DecodedExtensions,
  type KeyUsage,
  type NameConstraints,
  type PolicyConstraints,
  type PolicyMapping,
  readExtensions,
} from "./extensions.ts";
import type { GeneralName } from "./general_name.ts";
import { bytesEqual, type DistinguishedName, readName } from "./name.ts";
import { type PublicKeyInfo, readPublicKeyInfo } from "./public_key.ts";

/**
 * A decoded certificate. Every field is read from the DER given to
 * {@linkcode parseCertificate}; nothing here has been verified.
 */
export class Certificate {
  /** The whole certificate, DER. */
  readonly der: Uint8Array;
  /** The TBSCertificate bytes, which the issuer's signature covers. */
  readonly tbs: Uint8Array;
  /** Version: 1, 2 or 3. */
  readonly version: number;
  /** Serial number as lower-case hex of its minimal two's-complement bytes. */
  readonly serialNumber: string;
  /** The signature algorithm (the outer one, equal to the TBS one). */
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The signature value bytes. */
  readonly signature: Uint8Array;
  /** Issuer name. */
  readonly issuer: DistinguishedName;
  /** Subject name. */
  readonly subject: DistinguishedName;
  /** Start of the validity period. */
  readonly notBefore: Date;
  /** End of the validity period (inclusive). */
  readonly notAfter: Date;
  /** The subject public key. */
  readonly publicKey: PublicKeyInfo;
  /** Every extension in encoded order, raw. */
  readonly extensions: readonly CertificateExtension[];
  /** basicConstraints, if present. */
  readonly basicConstraints: BasicConstraints | undefined;
  /** keyUsage, if present. */
  readonly keyUsage: KeyUsage | undefined;
  /** extKeyUsage purpose OIDs, if present. */
  readonly extKeyUsage: readonly string[] | undefined;
  /** subjectAltName entries, if present. */
  readonly subjectAltNames: readonly GeneralName[] | undefined;
  /** subjectKeyIdentifier, if present. */
  readonly subjectKeyIdentifier: Uint8Array | undefined;
  /** authorityKeyIdentifier, if present. */
  readonly authorityKeyIdentifier: AuthorityKeyIdentifier | undefined;
  /** nameConstraints, if present. */
  readonly nameConstraints: NameConstraints | undefined;
  /** certificatePolicies policy OIDs, if present. */
  readonly certificatePolicies: readonly string[] | undefined;
  /** policyMappings, if present. */
  readonly policyMappings: readonly PolicyMapping[] | undefined;
  /** policyConstraints, if present. */
  readonly policyConstraints: PolicyConstraints | undefined;
  /** inhibitAnyPolicy's SkipCerts, if present. */
  readonly inhibitAnyPolicy: number | undefined;
  /** Critical extensions this package does not understand (validation refuses them). */
  readonly unknownCriticalExtensions: readonly string[];
  #fingerprint: string | undefined;

  /**
   * Assembles a certificate from decoded parts; use {@linkcode parseCertificate}.
   *
   * @param parts The decoded fields.
   */
  constructor(parts: CertificateParts) {
    this.der = parts.der;
    this.tbs = parts.tbs;
    this.version = parts.version;
    this.serialNumber = parts.serialNumber;
    this.signatureAlgorithm = parts.signatureAlgorithm;
    this.signature = parts.signature;
    this.issuer = parts.issuer;
    this.subject = parts.subject;
    this.notBefore = parts.notBefore;
    this.notAfter = parts.notAfter;
    this.publicKey = parts.publicKey;
    const ext = parts.extensions;
    this.extensions = ext.all;
    this.basicConstraints = ext.basicConstraints;
    this.keyUsage = ext.keyUsage;
    this.extKeyUsage = ext.extKeyUsage;
    this.subjectAltNames = ext.subjectAltNames;
    this.subjectKeyIdentifier = ext.subjectKeyIdentifier;
    this.authorityKeyIdentifier = ext.authorityKeyIdentifier;
    this.nameConstraints = ext.nameConstraints;
    this.certificatePolicies = ext.certificatePolicies;
    this.policyMappings = ext.policyMappings;
    this.policyConstraints = ext.policyConstraints;
    this.inhibitAnyPolicy = ext.inhibitAnyPolicy;
    this.unknownCriticalExtensions = ext.unknownCritical;
  }

  /** SHA-256 of the DER, lower-case hex. */
  get fingerprintSha256(): string {
    this.#fingerprint ??= sha256(this.der).toHex();
    return this.#fingerprint;
  }

  /** True when issuer and subject are the same name. */
  get selfIssued(): boolean {
    return this.issuer.equals(this.subject);
  }

  /**
   * True when both certificates have the same DER.
   *
   * @param other Another certificate.
   * @returns Whether they are the same certificate.
   */
  equals(other: Certificate): boolean {
    return bytesEqual(this.der, other.der);
  }

  /** A short description for logs: subject, issuer, serial. @returns The description. */
  toString(): string {
    return `Certificate(subject="${this.subject}", issuer="${this.issuer}", serial=${this.serialNumber})`;
  }
}

/** The decoded fields a {@linkcode Certificate} is built from. */
export interface CertificateParts {
  /** Whole DER. */ der: Uint8Array;
  /** TBSCertificate DER. */ tbs: Uint8Array;
  /** 1, 2 or 3. */ version: number;
  /** Hex serial. */ serialNumber: string;
  /** Signature algorithm. */ signatureAlgorithm: SignatureAlgorithm;
  /** Signature bytes. */ signature: Uint8Array;
  /** Issuer. */ issuer: DistinguishedName;
  /** Subject. */ subject: DistinguishedName;
  /** Validity start. */ notBefore: Date;
  /** Validity end. */ notAfter: Date;
  /** Subject key. */ publicKey: PublicKeyInfo;
  /** Extensions. */ extensions: DecodedExtensions;
}

/** Options for {@linkcode parseCertificate}. */
export interface ParseOptions {
  /** Place of this certificate in its chain, reported in errors. @default {0} */
  index?: number;
}

const noExtensions: DecodedExtensions = { all: [], unknownCritical: [] };

/**
 * Decodes a DER certificate, strictly.
 *
 * @example Parsing the test leaf
 * ```ts
 * import { parseCertificate, parsePem } from "@anchortls/x509";
 * const pem = await Deno.readTextFile(new URL("./testdata/leaf.pem", import.meta.url));
 * const cert = parseCertificate(parsePem(pem)[0]!);
 * cert.subject.toString(); // "CN=localhost,O=anchortls test"
 * cert.publicKey.kind; // "rsa"
 * ```
 *
 * @param der The certificate DER.
 * @param options Where it sits in a chain, for error reports.
 * @returns The certificate.
 * @throws {CertificateError} `malformed` (alert bad_certificate), with the {@linkcode DerError}
 * (and its byte offset) as `cause`.
 */
export function parseCertificate(der: Uint8Array, options: ParseOptions = {}): Certificate {
  try {
    return decodeCertificate(der);
  } catch (e) {
    if (e instanceof DerError) {
      throw new CertificateError("malformed", options.index ?? 0, e.message, { cause: e });
    }
    throw e;
  }
}

/**
 * Decodes the certificates of a TLS Certificate message, leaf first.
 *
 * @example Splitting a server chain
 * ```ts
 * import { parseCertificateChain, parsePem } from "@anchortls/x509";
 * const pem = await Deno.readTextFile(new URL("./testdata/chain.pem", import.meta.url));
 * const [leaf, ...intermediates] = parseCertificateChain(parsePem(pem));
 * ```
 *
 * @param ders DER certificates in the order received.
 * @returns The certificates.
 * @throws {CertificateError} `malformed`, with `index` naming the bad one.
 */
export function parseCertificateChain(ders: readonly Uint8Array[]): Certificate[] {
  return ders.map((der, index) => parseCertificate(der, { index }));
}

function decodeCertificate(der: Uint8Array): Certificate {
  const outer = new DerReader(der);
  const cert = outer.readSequence();
  outer.expectEnd();

  const tbsEl = cert.expect(TagClass.universal, true, 16, "TBSCertificate");
  const sigAlgAt = cert.offset;
  const sigAlgEl = cert.expect(TagClass.universal, true, 16, "signatureAlgorithm");
  const signatureAlgorithm = readSignatureAlgorithm(new DerReader(sigAlgEl.raw, sigAlgAt, 1));
  const sigEl = cert.expect(TagClass.universal, false, 3, "signatureValue");
  const sig = decodeBitString(sigEl);
  if (sig.unusedBits) throw new DerError("signature has unused bits", sigEl.offset);
  cert.expectEnd();

  const tbs = cert.enter(tbsEl);
  let version = 1;
  if (tbs.nextIs(TagClass.contextSpecific, 0)) {
    const v = tbs.readExplicit(0);
    const at = v.offset;
    const n = v.readSmallInteger();
    v.expectEnd();
    // DER forbids encoding the DEFAULT v1 explicitly.
    if (n !== 1 && n !== 2) throw new DerError("bad certificate version", at);
    version = n + 1;
  }
  const serialAt = tbs.offset;
  const serial = tbs.readIntegerBytes();
  if (serial.length > 20) throw new DerError("serial number longer than 20 bytes", serialAt);
  const innerAlgEl = tbs.expect(TagClass.universal, true, 16, "signature");
  if (!bytesEqual(innerAlgEl.raw, sigAlgEl.raw)) {
    throw new DerError("TBS signature algorithm differs from the outer one", innerAlgEl.offset);
  }
  const issuer = readName(tbs);
  const validity = tbs.readSequence();
  const notBefore = validity.readTime();
  const notAfter = validity.readTime();
  validity.expectEnd();
  const subject = readName(tbs);
  const publicKey = readPublicKeyInfo(tbs);
  for (let n = 1; n <= 2; n++) {
    if (tbs.nextIs(TagClass.contextSpecific, n)) {
      const at = tbs.offset;
      if (version < 2) throw new DerError("unique identifier in a v1 certificate", at);
      decodeBitString(tbs.expect(TagClass.contextSpecific, false, n, "uniqueIdentifier"));
    }
  }
  let extensions = noExtensions;
  if (tbs.nextIs(TagClass.contextSpecific, 3)) {
    const at = tbs.offset;
    if (version !== 3) throw new DerError("extensions in a pre-v3 certificate", at);
    const wrapper = tbs.readExplicit(3);
    extensions = readExtensions(wrapper.readSequence());
    wrapper.expectEnd();
  }
  tbs.expectEnd();

  return new Certificate({
    der,
    tbs: tbsEl.raw,
    version,
    serialNumber: serial.toHex(),
    signatureAlgorithm,
    signature: sig.bytes,
    issuer,
    subject,
    notBefore,
    notAfter,
    publicKey,
    extensions,
  });
}
