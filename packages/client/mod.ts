/**
 * A TLS 1.2 client for Deno built from the anchortls packages: `connectTls` opens a TCP
 * connection, runs the handshake with secrets held by a `CryptoProvider` (software or a
 * secure element), and hands back byte Web Streams.
 *
 * @example Options are checked before any connection is made
 * ```ts
 * import { connectTls } from "@anchortls/client";
 * const error = await connectTls({ hostname: "127.0.0.1", port: 4433, caCerts: [] })
 *   .catch((e: Error) => e);
 * error instanceof TypeError; // true: there is nothing to trust
 * ```
 *
 * See the package README for a complete session with a local `openssl s_server`.
 *
 * @module
 */

export * from "./connect_options.ts";
export * from "./connect_tls.ts";
export * from "./connect_dtls.ts";
export * from "./dtls_connection.ts";
export * from "./udp/mod.ts";
export {
  type DtlsClientConfig,
  type DtlsClientStats,
  DtlsHandshakeTimeoutError,
  type RetransmitOptions,
} from "@anchortls/handshake/dtls";
export { HandshakeTimeoutError } from "@anchortls/handshake";
export * from "./errors.ts";
export * from "./tls_connection.ts";
// What a connectTls/connectDtls user needs to configure it and to tell its errors apart.
export {
  type ClientHandshakeConfig,
  type CryptoProvider,
  type HandshakeInfo,
  SessionCache,
  type TlsSession,
} from "@anchortls/handshake";
export {
  AlertDescription,
  AlertLevel,
  type CipherSuite,
  CipherSuites,
  TlsAlertError,
} from "@anchortls/record";
export { type Certificate, CertificateError, type CertificateErrorReason } from "@anchortls/x509";

// Further types from the packages below this one that appear in this package's signatures, so
// its documentation is complete without them.
export type {
  CryptoPolicy,
  EncryptedPremaster,
  FinishedLabel,
  FragmentLimits,
  HandshakeFraming,
  HandshakeMessage,
  HelloRandoms,
  MasterSecretContext,
  MasterSecretHandle,
  MaxFragmentLength,
  Placement,
  PremasterHandle,
  ProviderOperation,
  RecordKeyOptions,
  RecordKeys,
  RecordRequirements,
  SecretHandle,
} from "@anchortls/handshake";
export type { FlightTrackerOptions } from "@anchortls/handshake/dtls";
export type { TlsClientConfig } from "@anchortls/handshake/tls";
export type { ProtocolVersion, RecordContext, RecordProtector } from "@anchortls/record";
export type {
  Attribute,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificateExtension,
  DistinguishedName,
  GeneralName,
  GeneralSubtree,
  HashName,
  KeyUsage,
  NameConstraints,
  PublicKeyInfo,
  SignatureAlgorithm,
} from "@anchortls/x509";
