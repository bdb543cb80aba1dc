/**
 * X.509 certificates for the anchortls client: a strict DER reader, certificate parsing
 * (RFC 5280), signature verification, path validation and host name checks (RFC 6125).
 *
 * Depends on no other anchortls package; hashes come from `@noble/hashes`, ECDSA from
 * WebCrypto, RSA verification is BigInt arithmetic with a byte-for-byte encoding check.
 *
 * @example Validating a server's chain
 * ```ts
 * import { parseCertificateChain, parsePem, verifyChain } from "@anchortls/x509";
 * const text = (f: string) => Deno.readTextFile(new URL(`./testdata/${f}`, import.meta.url));
 * const [leaf, ...intermediates] = parseCertificateChain(parsePem(await text("chain.pem")));
 * const trustAnchors = parseCertificateChain(parsePem(await text("root.pem")));
 * const path = await verifyChain({
 *   leaf: leaf!,
 *   intermediates,
 *   trustAnchors,
 *   hostname: "localhost",
 *   now: new Date("2030-01-01T00:00:00Z"),
 *   keyUsage: "keyEncipherment",
 * });
 * path.map((c) => c.subject.toString());
 * // ["CN=localhost,O=anchortls test", "CN=anchortls test intermediate,...", "CN=anchortls test root,..."]
 * ```
 *
 * @module
 */

export * from "./algorithm.ts";
export * from "./certificate.ts";
export { type Crl, type CrlInput, parseCrl, parseCrls, type RevokedEntry } from "./crl.ts";
export * from "./der.ts";
export * from "./errors.ts";
export * from "./extensions.ts";
export * from "./general_name.ts";
export * from "./hostname.ts";
export * from "./name.ts";
export * from "./name_constraints.ts";
export type { VerifyProfile } from "./profile.ts";
export * from "./oid.ts";
export * from "./pem.ts";
export * from "./public_key.ts";
export * from "./rsa.ts";
export * from "./signature.ts";
export * from "./verify.ts";
