/**
 * The certificate extensions path validation needs (RFC 5280 §4.2.1), decoded; every other
 * extension is kept raw.
 *
 * @module
 */

import { DerError, DerReader, TagClass } from "./der.ts";
import { decodeGeneralName, type GeneralName, readGeneralNames } from "./general_name.ts";
import { Oid } from "./oid.ts";

/** One extension as encoded. */
export interface CertificateExtension {
  /** Extension OID. */
  readonly oid: string;
  /** The critical flag. */
  readonly critical: boolean;
  /** The extnValue contents (the DER inside the OCTET STRING). */
  readonly value: Uint8Array;
}

/** basicConstraints (RFC 5280 §4.2.1.9). */
export interface BasicConstraints {
  /** True for a CA certificate. */
  readonly ca: boolean;
  /** Maximum number of non-self-issued intermediates that may follow, if limited. */
  readonly pathLenConstraint?: number;
}

/** keyUsage bits (RFC 5280 §4.2.1.3). */
export interface KeyUsage {
  /** Bit 0. */ readonly digitalSignature: boolean;
  /** Bit 1 (also called contentCommitment). */ readonly nonRepudiation: boolean;
  /** Bit 2. */ readonly keyEncipherment: boolean;
  /** Bit 3. */ readonly dataEncipherment: boolean;
  /** Bit 4. */ readonly keyAgreement: boolean;
  /** Bit 5. */ readonly keyCertSign: boolean;
  /** Bit 6. */ readonly cRLSign: boolean;
  /** Bit 7. */ readonly encipherOnly: boolean;
  /** Bit 8. */ readonly decipherOnly: boolean;
}

/** authorityKeyIdentifier (RFC 5280 §4.2.1.1). */
export interface AuthorityKeyIdentifier {
  /** The issuer key's identifier. */
  readonly keyIdentifier?: Uint8Array;
  /** The issuer's issuer names. */
  readonly authorityCertIssuer?: readonly GeneralName[];
  /** The issuer certificate's serial number, in hex. */
  readonly authorityCertSerialNumber?: string;
}

/** One GeneralSubtree of nameConstraints (RFC 5280 §4.2.1.10). */
export interface GeneralSubtree {
  /** The base name; iPAddress bases hold address ‖ mask (8 or 32 bytes). */
  readonly base: GeneralName;
}

/** nameConstraints (RFC 5280 §4.2.1.10). */
export interface NameConstraints {
  /** Names must fall in one of these, per name type present. */
  readonly permitted: readonly GeneralSubtree[];
  /** Names must fall in none of these. */
  readonly excluded: readonly GeneralSubtree[];
}

/** policyConstraints (RFC 5280 §4.2.1.11): each a count of certificates below this one. */
export interface PolicyConstraints {
  /** Certificates after which every path certificate needs an acceptable policy. */
  readonly requireExplicitPolicy?: number;
  /** Certificates after which policy mapping is no longer allowed. */
  readonly inhibitPolicyMapping?: number;
}

/** One pair of policyMappings (RFC 5280 §4.2.1.5). */
export interface PolicyMapping {
  /** The issuer's policy OID. */
  readonly issuerDomainPolicy: string;
  /** The subject's policy OID that stands for it. */
  readonly subjectDomainPolicy: string;
}

/** The decoded form of the extensions we understand. */
export interface DecodedExtensions {
  /** All extensions in encoded order. */
  readonly all: readonly CertificateExtension[];
  /** basicConstraints, if present. */
  readonly basicConstraints?: BasicConstraints;
  /** keyUsage, if present. */
  readonly keyUsage?: KeyUsage;
  /** extKeyUsage purpose OIDs, if present. */
  readonly extKeyUsage?: readonly string[];
  /** subjectAltName entries, if present. */
  readonly subjectAltNames?: readonly GeneralName[];
  /** subjectKeyIdentifier, if present. */
  readonly subjectKeyIdentifier?: Uint8Array;
  /** authorityKeyIdentifier, if present. */
  readonly authorityKeyIdentifier?: AuthorityKeyIdentifier;
  /** nameConstraints, if present. */
  readonly nameConstraints?: NameConstraints;
  /** certificatePolicies policy OIDs (qualifiers skipped), if present. */
  readonly certificatePolicies?: readonly string[];
  /** policyMappings, if present. */
  readonly policyMappings?: readonly PolicyMapping[];
  /** policyConstraints, if present. */
  readonly policyConstraints?: PolicyConstraints;
  /** inhibitAnyPolicy's SkipCerts, if present. */
  readonly inhibitAnyPolicy?: number;
  /** OIDs of critical extensions we do not understand. */
  readonly unknownCritical: readonly string[];
}

/**
 * Reads the Extensions SEQUENCE and decodes the ones we understand.
 *
 * @param seq A reader over the Extensions SEQUENCE contents.
 * @returns Raw and decoded extensions.
 */
export function readExtensions(seq: DerReader): DecodedExtensions {
  const all: CertificateExtension[] = [];
  const seen: string[] = [];
  const unknownCritical: string[] = [];
  const out: {
    -readonly [K in keyof DecodedExtensions]: DecodedExtensions[K];
  } = { all, unknownCritical };
  if (seq.atEnd) throw new DerError("empty Extensions", seq.offset);
  while (!seq.atEnd) {
    const extAt = seq.offset;
    const ext = seq.readSequence();
    const oid = ext.readOid();
    let critical = false;
    if (ext.nextIs(TagClass.universal, 1)) critical = ext.readBoolean();
    const valueEl = ext.expect(TagClass.universal, false, 4, "extnValue");
    ext.expectEnd();
    if (seen.includes(oid)) throw new DerError(`duplicate extension ${oid}`, extAt);
    seen.push(oid);
    all.push({ oid, critical, value: valueEl.contents });
    const inner = new DerReader(valueEl.contents, valueEl.contentsOffset, 3);
    switch (oid) {
      case Oid.basicConstraints:
        out.basicConstraints = readBasicConstraints(inner);
        break;
      case Oid.keyUsage:
        out.keyUsage = readKeyUsage(inner);
        break;
      case Oid.extKeyUsage:
        out.extKeyUsage = readExtKeyUsage(inner);
        break;
      case Oid.subjectAltName:
        out.subjectAltNames = readGeneralNames(inner.readSequence());
        break;
      case Oid.subjectKeyIdentifier:
        out.subjectKeyIdentifier = inner.readOctetString();
        break;
      case Oid.authorityKeyIdentifier:
        out.authorityKeyIdentifier = readAuthorityKeyIdentifier(inner);
        break;
      case Oid.nameConstraints:
        out.nameConstraints = readNameConstraints(inner);
        break;
      case Oid.certificatePolicies:
        out.certificatePolicies = readCertificatePolicies(inner);
        break;
      case Oid.policyMappings:
        out.policyMappings = readPolicyMappings(inner);
        break;
      case Oid.policyConstraints:
        out.policyConstraints = readPolicyConstraints(inner);
        break;
      case Oid.inhibitAnyPolicy:
        out.inhibitAnyPolicy = inner.readSmallInteger();
        break;
      default:
        if (critical) unknownCritical.push(oid);
        continue;
    }
    inner.expectEnd();
  }
  return out;
}

function readBasicConstraints(r: DerReader): BasicConstraints {
  const seq = r.readSequence();
  // Explicit cA FALSE is a DER default violation, but common enough in the wild to accept.
  const ca = seq.nextIs(TagClass.universal, 1) ? seq.readBoolean() : false;
  if (seq.atEnd) return { ca };
  const pathLenConstraint = seq.readSmallInteger();
  seq.expectEnd();
  return { ca, pathLenConstraint };
}

function readKeyUsage(r: DerReader): KeyUsage {
  const at = r.offset;
  const bits = r.readBitString();
  if (bits.bytes.length > 2) throw new DerError("keyUsage too long", at);
  const bit = (i: number): boolean => ((bits.bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
  return {
    digitalSignature: bit(0),
    nonRepudiation: bit(1),
    keyEncipherment: bit(2),
    dataEncipherment: bit(3),
    keyAgreement: bit(4),
    keyCertSign: bit(5),
    cRLSign: bit(6),
    encipherOnly: bit(7),
    decipherOnly: bit(8),
  };
}

function readExtKeyUsage(r: DerReader): string[] {
  const seq = r.readSequence();
  const at = seq.offset;
  const oids: string[] = [];
  while (!seq.atEnd) oids.push(seq.readOid());
  if (oids.length === 0) throw new DerError("empty extKeyUsage", at);
  return oids;
}

function readAuthorityKeyIdentifier(r: DerReader): AuthorityKeyIdentifier {
  const seq = r.readSequence();
  const out: {
    -readonly [K in keyof AuthorityKeyIdentifier]: AuthorityKeyIdentifier[K];
  } = {};
  if (seq.nextIs(TagClass.contextSpecific, 0)) {
    out.keyIdentifier = seq.expect(TagClass.contextSpecific, false, 0, "keyIdentifier").contents;
  }
  if (seq.nextIs(TagClass.contextSpecific, 1)) {
    out.authorityCertIssuer = readGeneralNames(seq.readExplicit(1));
  }
  if (seq.nextIs(TagClass.contextSpecific, 2)) {
    const el = seq.expect(TagClass.contextSpecific, false, 2, "authorityCertSerialNumber");
    if (el.contents.length === 0) throw new DerError("empty serial number", el.offset);
    out.authorityCertSerialNumber = el.contents.toHex();
  }
  seq.expectEnd();
  return out;
}

function readSubtrees(seq: DerReader): GeneralSubtree[] {
  const at = seq.offset;
  const subtrees: GeneralSubtree[] = [];
  while (!seq.atEnd) {
    const st = seq.readSequence();
    const base = decodeGeneralName(st.read(), st, [8, 32]);
    // RFC 5280 §4.2.1.10: minimum MUST be zero (so absent in DER) and maximum absent.
    st.expectEnd();
    subtrees.push({ base });
  }
  if (subtrees.length === 0) throw new DerError("empty GeneralSubtrees", at);
  return subtrees;
}

function readNameConstraints(r: DerReader): NameConstraints {
  const seq = r.readSequence();
  const at = seq.offset;
  let permitted: GeneralSubtree[] = [];
  let excluded: GeneralSubtree[] = [];
  if (seq.nextIs(TagClass.contextSpecific, 0)) permitted = readSubtrees(seq.readExplicit(0));
  if (seq.nextIs(TagClass.contextSpecific, 1)) excluded = readSubtrees(seq.readExplicit(1));
  seq.expectEnd();
  if (permitted.length === 0 && excluded.length === 0) {
    throw new DerError("empty nameConstraints", at);
  }
  return { permitted, excluded };
}

function readCertificatePolicies(r: DerReader): string[] {
  const seq = r.readSequence();
  const at = seq.offset;
  const oids: string[] = [];
  while (!seq.atEnd) {
    const info = seq.readSequence();
    const oidAt = info.offset;
    const oid = info.readOid();
    // §4.2.1.4: a policy OID appears at most once. Qualifiers are informational: skipped.
    if (oids.includes(oid)) throw new DerError(`duplicate certificate policy ${oid}`, oidAt);
    oids.push(oid);
    if (!info.atEnd) info.readSequence();
    info.expectEnd();
  }
  if (oids.length === 0) throw new DerError("empty certificatePolicies", at);
  return oids;
}

function readPolicyMappings(r: DerReader): PolicyMapping[] {
  const seq = r.readSequence();
  const at = seq.offset;
  const mappings: PolicyMapping[] = [];
  while (!seq.atEnd) {
    const pair = seq.readSequence();
    const pairAt = pair.offset;
    const issuerDomainPolicy = pair.readOid();
    const subjectDomainPolicy = pair.readOid();
    pair.expectEnd();
    // §4.2.1.5: policies are not mapped either to or from anyPolicy.
    if (issuerDomainPolicy === Oid.anyPolicy || subjectDomainPolicy === Oid.anyPolicy) {
      throw new DerError("policyMappings maps anyPolicy", pairAt);
    }
    mappings.push({ issuerDomainPolicy, subjectDomainPolicy });
  }
  if (mappings.length === 0) throw new DerError("empty policyMappings", at);
  return mappings;
}

function readPolicyConstraints(r: DerReader): PolicyConstraints {
  const seq = r.readSequence();
  const at = seq.offset;
  const skipCerts = (tag: number): number | undefined => {
    if (!seq.nextIs(TagClass.contextSpecific, tag)) return undefined;
    const el = seq.expect(TagClass.contextSpecific, false, tag, "SkipCerts");
    const value = new DerReader(Uint8Array.of(2, el.contents.length, ...el.contents));
    return value.readSmallInteger();
  };
  const requireExplicitPolicy = skipCerts(0);
  const inhibitPolicyMapping = skipCerts(1);
  seq.expectEnd();
  // §4.2.1.11: conforming CAs MUST NOT issue an empty policyConstraints.
  if (requireExplicitPolicy === undefined && inhibitPolicyMapping === undefined) {
    throw new DerError("empty policyConstraints", at);
  }
  return {
    ...(requireExplicitPolicy !== undefined ? { requireExplicitPolicy } : {}),
    ...(inhibitPolicyMapping !== undefined ? { inhibitPolicyMapping } : {}),
  };
}
