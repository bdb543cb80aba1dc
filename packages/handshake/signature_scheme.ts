/**
 * TLS signature schemes (RFC 8446 §4.2.3 code points, which RFC 5246's
 * SignatureAndHashAlgorithm pairs share) that a client may use in CertificateVerify.
 *
 * @module
 */

/** Signature scheme code points we offer in signature_algorithms and can sign with. */
export const SignatureScheme = {
  rsa_pkcs1_sha256: 0x0401,
  rsa_pkcs1_sha384: 0x0501,
  rsa_pkcs1_sha512: 0x0601,
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  rsa_pss_rsae_sha512: 0x0806,
} as const;

/** A signature scheme code point; unknown ones from a peer stay plain numbers. */
export type SignatureScheme = number;

const schemeNames: ReadonlyMap<number, string> = new Map(
  Object.entries(SignatureScheme).map(([name, code]) => [code, name]),
);

/**
 * Names a signature scheme code point.
 *
 * @param scheme The code point.
 * @returns Its RFC name, or `0x....` when unknown.
 */
export function signatureSchemeName(scheme: number): string {
  return schemeNames.get(scheme) ?? `0x${scheme.toString(16).padStart(4, "0")}`;
}

/**
 * The schemes our ClientHello offers for the server's certificate chain and for the
 * CertificateRequest the server may answer with, strongest first within each family.
 */
export const OFFERED_SIGNATURE_SCHEMES: readonly number[] = [
  SignatureScheme.ecdsa_secp256r1_sha256,
  SignatureScheme.ecdsa_secp384r1_sha384,
  SignatureScheme.rsa_pss_rsae_sha256,
  SignatureScheme.rsa_pss_rsae_sha384,
  SignatureScheme.rsa_pss_rsae_sha512,
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512,
];
