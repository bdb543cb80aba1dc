/**
 * Certification path building and validation (RFC 5280 §6) for a TLS client.
 *
 * @module
 */

import type { Certificate } from "./certificate.ts";
import { CertificateError, type CertificateErrorReason } from "./errors.ts";
import { checkRevocation, type Crl, type CrlInput, parseCrls } from "./crl.ts";
import { namesCoverHost, parseIpAddress } from "./hostname.ts";
import { checkNameConstraints, NAME_CONSTRAINT_BUDGET } from "./name_constraints.ts";
import { nameSyntaxOk } from "./name_syntax.ts";
import { policyViolation } from "./policy.ts";
import { profileViolation, type VerifyProfile, webpkiViolation } from "./profile.ts";
import { bytesEqual } from "./name.ts";
import { Oid } from "./oid.ts";
import { MAX_RSA_BITS, rsaKeyInBounds, verifySignature } from "./signature.ts";

/** Options for {@linkcode verifyChain}. */
export interface VerifyChainOptions {
  /** The end-entity certificate (first in the peer's Certificate message). */
  leaf: Certificate;
  /** Other certificates the peer sent, in any order; unused ones are ignored. */
  intermediates: readonly Certificate[];
  /** Trusted roots (or any trusted CA certificates). */
  trustAnchors: readonly Certificate[];
  /** DNS name the leaf must cover (an IP literal here is checked as `ip`). */
  hostname?: string;
  /** IP address (v4 or v6 text) the leaf must cover in an iPAddress entry. */
  ip?: string;
  /** The validation time. @default {new Date()} */
  now?: Date;
  /** The extKeyUsage purpose the leaf must allow. @default {"serverAuth"} */
  purpose?: "serverAuth" | "clientAuth";
  /**
   * `webpki`: the CA/Browser Forum rules rustls-webpki applies to server certificates, on top
   * of RFC 5280 (a leaf with an extKeyUsage and a common name among its subjectAltNames, no CA
   * as the leaf, …; see the README). `rfc5280`: RFC 5280 alone, where the two differ (a leaf
   * without extKeyUsage is accepted).
   * @default {"webpki" for serverAuth, "rfc5280" for clientAuth}
   */
  profile?: VerifyProfile;
  /**
   * The keyUsage bit the leaf's key is needed for: keyEncipherment for RSA key exchange
   * (which also requires an RSA key), digitalSignature for signing. Unchecked when absent.
   */
  keyUsage?: "keyEncipherment" | "digitalSignature";
  /** Accept SHA-1 signatures. @default {false} */
  allowSha1?: boolean;
  /** Smallest RSA modulus accepted anywhere in the path, in bits. @default {2048} */
  minRsaBits?: number;
  /**
   * Most certificates in a path, leaf and anchor included, counted as RFC 5280 counts path
   * length: self-issued intermediates (key rollover links) do not count. @default {10}
   */
  maxDepth?: number;
  /**
   * Certificate revocation lists (RFC 5280 §5), parsed or as DER or PEM. A path certificate
   * listed by a CRL of its issuer fails as `revoked`; a CRL for an issuer of the path that
   * cannot be used (bad signature, issuer keyUsage without cRLSign, before thisUpdate, past
   * nextUpdate, an unprocessed critical extension) fails as `bad_crl`. Certificates no CRL is
   * for are not checked. @default {[]}
   */
  crls?: readonly CrlInput[];
}

function fail(reason: CertificateErrorReason, index: number, message: string): never {
  throw new CertificateError(reason, index, message);
}

function unique(certs: readonly Certificate[]): Certificate[] {
  if (certs.length < 2) return [...certs];
  return [...new Map(certs.map((c) => [c.der.toHex(), c])).values()];
}

function mayHaveIssued(issuer: Certificate, cert: Certificate): boolean {
  if (!issuer.subject.equals(cert.issuer)) return false;
  const aki = cert.authorityKeyIdentifier?.keyIdentifier;
  const ski = issuer.subjectKeyIdentifier;
  return !aki || !ski || bytesEqual(aki, ski);
}

function sameKey(a: Certificate, b: Certificate): boolean {
  return bytesEqual(a.publicKey.spki, b.publicKey.spki);
}

/**
 * A path's depth as RFC 5280 §6.1 counts it: the leaf, and each intermediate that is not
 * self-issued (a self-issued one, e.g. a key rollover link, consumes no path length).
 */
function depthOf(path: readonly Certificate[]): number {
  return path.filter((c, i) => i === 0 || !c.selfIssued).length;
}

/**
 * Most issuer candidates looked at while building paths: a peer sending many same-named
 * certificates must not make the search exponential.
 */
const SEARCH_BUDGET = 256;

interface Search {
  readonly pool: readonly Certificate[];
  readonly anchors: readonly Certificate[];
  readonly maxDepth: number;
  deepest: Certificate[];
  depthHit: boolean;
  budget: number;
}

/** Every path from `path`'s last certificate up to an anchor, anchors tried first. */
function* paths(path: Certificate[], s: Search): Generator<Certificate[]> {
  const top = path[path.length - 1]!;
  if (path.length > s.deepest.length) s.deepest = path;
  if (--s.budget < 0) return;
  const depth = depthOf(path);
  for (const anchor of s.anchors) {
    if (path.some((c) => c.equals(anchor))) continue;
    if (mayHaveIssued(anchor, top)) {
      if (depth + 1 > s.maxDepth) s.depthHit = true;
      else yield [...path, anchor];
    }
  }
  for (const ca of s.pool) {
    // A repeat of the same subject with the same key is a loop; the same subject with another
    // key is a key rollover (RFC 4210 §4.4), and both belong in the path.
    if (path.some((c) => c.equals(ca) || (c.subject.equals(ca.subject) && sameKey(c, ca)))) {
      continue;
    }
    if (mayHaveIssued(ca, top)) {
      if (depth + (ca.selfIssued ? 0 : 1) + 1 > s.maxDepth) s.depthHit = true;
      else yield* paths([...path, ca], s);
    }
  }
}

/**
 * Builds a path from the leaf through the given intermediates to a trust anchor and
 * validates every link: signatures, validity at `now`, basicConstraints and
 * pathLenConstraint, keyUsage, extKeyUsage, name constraints, unknown critical extensions,
 * key and hash policy, and the host name or IP address.
 *
 * When several paths exist each is tried; if none validates, the error of the first
 * complete path is thrown.
 *
 * @example Validating the test server chain
 * ```ts
 * import { parseCertificate, parsePem, verifyChain } from "@anchortls/x509";
 * const read = async (f: string) =>
 *   parseCertificate(
 *     parsePem(await Deno.readTextFile(new URL(`./testdata/${f}`, import.meta.url)))[0]!,
 *   );
 * const path = await verifyChain({
 *   leaf: await read("leaf.pem"),
 *   intermediates: [await read("intermediate.pem")],
 *   trustAnchors: [await read("root.pem")],
 *   hostname: "localhost",
 *   keyUsage: "keyEncipherment",
 * });
 * path.length; // 3
 * ```
 *
 * @param options The chain, trust anchors, expected identity and policy.
 * @returns The validated path, leaf first, anchor last.
 * @throws {CertificateError} With the reason, the index in the returned-path order of the
 * offending certificate, and the TLS alert to send.
 */
export async function verifyChain(options: VerifyChainOptions): Promise<Certificate[]> {
  const { leaf, trustAnchors } = options;
  const search: Search = {
    pool: unique(options.intermediates.filter((c) => !c.equals(leaf))),
    anchors: trustAnchors,
    maxDepth: options.maxDepth ?? 10,
    deepest: [],
    depthHit: false,
    budget: SEARCH_BUDGET,
  };
  const candidates: Iterable<Certificate[]> = trustAnchors.some((a) => a.equals(leaf))
    ? [[leaf]]
    : paths([leaf], search);
  const verified: SignatureMemo = new Map();
  const crls = parseCrls(options.crls ?? []);
  let firstError: unknown;
  for (const path of candidates) {
    try {
      await validatePath(path, options, verified, crls);
      return path;
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
      firstError ??= e;
    }
  }
  if (firstError) throw firstError;
  if (search.depthHit) {
    fail("max_depth_exceeded", search.maxDepth - 1, "no path within the depth limit");
  }
  const last = search.deepest.length - 1;
  const top = search.deepest[last]!;
  if (last === 0 && top.selfIssued) {
    fail("self_signed", 0, `self-signed certificate "${top.subject}" is not trusted`);
  }
  if (top.selfIssued) {
    fail("unknown_issuer", last, `root "${top.subject}" is not a trust anchor`);
  }
  fail("unknown_issuer", last, `issuer "${top.issuer}" not found`);
}

/** Signature results by certificate and issuer, so paths sharing a link check it once. */
type SignatureMemo = Map<Certificate, Map<Certificate, Promise<boolean>>>;

function signedBy(cert: Certificate, issuer: Certificate, memo: SignatureMemo): Promise<boolean> {
  let byIssuer = memo.get(cert);
  if (!byIssuer) memo.set(cert, byIssuer = new Map());
  let result = byIssuer.get(issuer);
  if (!result) {
    result = verifySignature(issuer.publicKey, cert.signatureAlgorithm, cert.tbs, cert.signature);
    byIssuer.set(issuer, result);
  }
  return result;
}

async function validatePath(
  path: Certificate[],
  o: VerifyChainOptions,
  memo: SignatureMemo,
  crls: readonly Crl[],
): Promise<void> {
  // Certificate times have whole seconds: `now` is compared at that granularity, so a
  // certificate is valid through the last second its notAfter names (RFC 5280 §4.1.2.5).
  const now = new Date(Math.floor((o.now ?? new Date()).getTime() / 1000) * 1000);
  const minRsaBits = o.minRsaBits ?? 2048;
  const purpose = o.purpose === "clientAuth" ? Oid.clientAuth : Oid.serverAuth;
  const n = path.length - 1;

  for (let i = 0; i <= n; i++) {
    const cert = path[i]!;
    const key = cert.publicKey;
    if (key.kind === "unsupported") {
      fail("unsupported_key", i, `unsupported public key algorithm ${key.algorithm}`);
    }
    if (key.kind === "rsa" && key.bits < minRsaBits) {
      fail("weak_key", i, `RSA key of ${key.bits} bits, below ${minRsaBits}`);
    }
    if (key.kind === "rsa" && !rsaKeyInBounds(key)) {
      fail("unsupported_key", i, `RSA key beyond ${MAX_RSA_BITS} bits or exponent beyond 2^32`);
    }
  }

  for (let i = n - 1; i >= 0; i--) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const alg = cert.signatureAlgorithm;
    if (alg.kind === "unsupported") {
      fail("unsupported_algorithm", i, `unsupported signature algorithm ${alg.oid}`);
    }
    if (alg.hash === "SHA-1" && !o.allowSha1) {
      fail("weak_signature_algorithm", i, "SHA-1 signature");
    }
    if (!(await signedBy(cert, issuer, memo))) {
      fail("bad_signature", i, `signature does not verify with "${issuer.subject}"'s key`);
    }
  }

  for (let i = 0; i <= n; i++) {
    const cert = path[i]!;
    if (cert.unknownCriticalExtensions.length > 0) {
      fail(
        "unknown_critical_extension",
        i,
        `critical extension ${cert.unknownCriticalExtensions.join(", ")}`,
      );
    }
    if (now < cert.notBefore) {
      fail("not_yet_valid", i, `valid from ${cert.notBefore.toISOString()}`);
    }
    if (now > cert.notAfter) fail("expired", i, `expired ${cert.notAfter.toISOString()}`);
  }

  // Names are checked for syntax before any constraint or hostname compares them.
  for (let i = 0; i < n; i++) {
    const bad = path[i]!.subjectAltNames?.find((name) => !nameSyntaxOk(name));
    if (bad && (bad.type === "dns" || bad.type === "email")) {
      fail("malformed_name", i, `subjectAltName ${bad.type} "${bad.value}" is malformed`);
    }
  }
  const budget = { remaining: NAME_CONSTRAINT_BUDGET };
  for (let i = 1; i <= n; i++) {
    const ca = path[i]!;
    // A version 1 trust anchor cannot carry basicConstraints; trusting it is the caller's call.
    const v1Anchor = i === n && ca.version === 1;
    if (!ca.basicConstraints?.ca && !v1Anchor) {
      fail("not_ca", i, "issuer is not a CA (basicConstraints)");
    }
    if (ca.keyUsage && !ca.keyUsage.keyCertSign) {
      fail("key_usage", i, "issuer keyUsage lacks keyCertSign");
    }
    const limit = ca.basicConstraints?.pathLenConstraint;
    if (limit !== undefined) {
      const below = path.slice(1, i).filter((c) => !c.selfIssued).length;
      if (below > limit) {
        fail("path_length_exceeded", i - 1, `pathLenConstraint ${limit} of "${ca.subject}"`);
      }
    }
    if (i < n && !allowsPurpose(ca, purpose)) {
      fail("ext_key_usage", i, "intermediate extKeyUsage does not allow the purpose");
    }
    const nc = ca.nameConstraints;
    if (nc) {
      for (let j = 0; j < i; j++) {
        const c = path[j]!;
        // A self-issued intermediate is exempt, subject and subjectAltName (§6.1.3 (b), (c)).
        if (j > 0 && c.selfIssued) continue;
        const outcome = checkNameConstraints(c, nc, true, budget);
        if (outcome.kind === "budget") {
          fail(
            "name_constraints_budget",
            j,
            `over ${NAME_CONSTRAINT_BUDGET} name × subtree checks`,
          );
        }
        if (outcome.kind === "violation") {
          fail("name_constraints", j, `${outcome.name} by "${ca.subject}"`);
        }
        if (outcome.kind === "unsupported") {
          fail(
            "name_constraints",
            j,
            `${outcome.name}: "${ca.subject}" constrains that name form, which is not processed here, so it is refused (RFC 5280 §4.2.1.10)`,
          );
        }
      }
    }
  }

  const policy = policyViolation(path);
  if (policy) fail("policy", policy.index, policy.message);
  // After the CA checks, so an issuer that is no CA says so, rather than what it lacks.
  for (let i = 0; i < n; i++) {
    const wrong = profileViolation(path[i]!);
    if (wrong) fail("profile", i, `${wrong} (RFC 5280)`);
  }
  checkLeaf(path[0]!, o, purpose);
  // Last, so a wrong host or purpose says so first.
  const profile = o.profile ?? (o.purpose === "clientAuth" ? "rfc5280" : "webpki");
  if (profile === "webpki") {
    const wrong = webpkiViolation(path, purpose);
    if (wrong) fail("profile", wrong.index, `${wrong.message} (CA/B Forum, profile "webpki")`);
  }
  // Last: the only check that may need a signature per CRL, done for a path that is otherwise
  // valid.
  if (crls.length > 0) await checkRevocation(path, crls, { now, allowSha1: !!o.allowSha1 });
}

function allowsPurpose(cert: Certificate, purpose: string): boolean {
  const eku = cert.extKeyUsage;
  return !eku || eku.includes(purpose) || eku.includes(Oid.anyExtendedKeyUsage);
}

function checkLeaf(leaf: Certificate, o: VerifyChainOptions, purpose: string): void {
  if (o.keyUsage) {
    if (o.keyUsage === "keyEncipherment" && leaf.publicKey.kind !== "rsa") {
      fail("unsupported_key", 0, `a ${leaf.publicKey.kind} key cannot do RSA key exchange`);
    }
    if (leaf.keyUsage && !leaf.keyUsage[o.keyUsage]) {
      fail("key_usage", 0, `keyUsage lacks ${o.keyUsage}`);
    }
  }
  if (!allowsPurpose(leaf, purpose)) {
    fail("ext_key_usage", 0, `extKeyUsage lacks ${o.purpose ?? "serverAuth"}`);
  }
  const ipText = o.ip ??
    (o.hostname !== undefined && parseIpAddress(o.hostname) ? o.hostname : undefined);
  if (ipText !== undefined) {
    const ip = parseIpAddress(ipText);
    if (!ip) fail("hostname_mismatch", 0, `"${ipText}" is not an IP address`);
    if (!namesCoverHost(leaf.subjectAltNames, ip)) {
      fail("hostname_mismatch", 0, `no subjectAltName iPAddress ${ipText}; ${namesHeld(leaf)}`);
    }
  }
  if (o.hostname !== undefined && !parseIpAddress(o.hostname)) {
    if (!namesCoverHost(leaf.subjectAltNames, o.hostname)) {
      fail(
        "hostname_mismatch",
        0,
        `no subjectAltName dNSName matches "${o.hostname}"; ${namesHeld(leaf)}`,
      );
    }
  }
}

/** The names a leaf is valid for, as rustls and Node list them in a mismatch. */
function namesHeld(leaf: Certificate): string {
  const names = (leaf.subjectAltNames ?? []).flatMap((n) =>
    n.type === "dns" ? [n.value] : n.type === "ip" ? [ipToText(n.value)] : []
  );
  if (names.length > 0) return `the certificate is for ${names.join(", ")}`;
  return "the certificate names no DNS name or IP address in subjectAltName";
}

function ipToText(ip: Uint8Array): string {
  if (ip.length === 4) return ip.join(".");
  const groups: string[] = [];
  for (let i = 0; i < ip.length; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  // The longest run of zero groups becomes "::" (RFC 5952 §4.2).
  const text = groups.join(":");
  const runs = text.match(/(?:^|:)0(?::0)+(?::|$)/g);
  if (!runs) return text;
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  return text.replace(longest, "::");
}
