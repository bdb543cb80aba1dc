/**
 * The TLS 1.2 client handshake: key schedule, message codecs, the sans-IO `ClientHandshake`
 * state machine and the `CryptoProvider` seam to software or a secure element.
 *
 * @example Expanding a secret with the TLS 1.2 PRF
 * ```ts
 * import { tls12Prf } from "@anchortls/handshake";
 * const out = tls12Prf(new Uint8Array(48), "key expansion", new Uint8Array(64), 72);
 * out.length; // 72
 * ```
 *
 * @module
 */

export * from "./prf.ts";
export * from "./key_schedule.ts";
export * from "./crypto_provider.ts";
export * from "./named_group.ts";
export * from "./signature_scheme.ts";
export * from "./signing_key.ts";
export * from "./software_provider.ts";
export * from "./rsa_pkcs1.ts";
export * from "./messages/alert_message.ts";
export * from "./messages/alpn.ts";
export * from "./messages/certificate.ts";
export * from "./messages/certificate_request.ts";
export * from "./messages/client_hello.ts";
export * from "./messages/extensions.ts";
export * from "./messages/framing.ts";
export * from "./messages/handshake_type.ts";
export * from "./messages/hello_verify_request.ts";
export * from "./messages/server_hello.ts";
export * from "./messages/server_key_exchange.ts";
export * from "./messages/simple_messages.ts";
export * from "./alert_mapping.ts";
export * from "./alert_policy.ts";
export * from "./handshake_timeout.ts";
export * from "./truncation_error.ts";
export * from "./client_handshake.ts";
export type * from "./client_event.ts";
export type { FragmentLimits, MaxFragmentLength } from "./fragment_limits.ts";
export * from "./session_cache.ts";
export * from "./psk.ts";
export * from "./session_export.ts";
export * from "./session_import_error.ts";
export * from "./transcript.ts";
export * from "./server_name.ts";
export {
  type ChangeCipherSpecTrace,
  describeTrace,
  type DtlsMessageTrace,
  type HandshakeMessageTrace,
  type HandshakeTrace,
  MAX_TRACED_FRAGMENTS,
  type TracedFragment,
  type TraceDirection,
  type TraceOptions,
} from "./trace.ts";

// Types from the packages below this one that appear in this package's signatures, so its
// documentation is complete without them.
export type {
  AeadAlgorithm,
  AeadCipherSuite,
  AlertDescription,
  AlertLevel,
  CbcCipherSuite,
  CipherSuite,
  CipherSuiteCommon,
  ContentType,
  KeyExchange,
  PrfHash,
  ProtocolVersion,
  Reader,
  RecordContext,
  RecordProtector,
  TlsAlertError,
  Writer,
} from "@anchortls/record";
export type {
  Attribute,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CertificateErrorReason,
  CertificateExtension,
  Crl,
  DistinguishedName,
  GeneralName,
  GeneralSubtree,
  HashName,
  KeyUsage,
  NameConstraints,
  PolicyConstraints,
  PolicyMapping,
  PublicKeyInfo,
  RevokedEntry,
  RsaPublicNumbers,
  SignatureAlgorithm,
} from "@anchortls/x509";
