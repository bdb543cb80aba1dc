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

// What a connectTls/connectDtls user calls, configures, gets back and tells errors apart by.
export type { ClientCertificateOptions, CommonConnectOptions } from "./connect_options.ts";
export { connectTls, type ConnectTlsOptions } from "./connect_tls.ts";
export { connectDtls, type ConnectDtlsOptions } from "./connect_dtls.ts";
export type { DtlsConnection, DtlsConnectionStats } from "./dtls_connection.ts";
export type { TlsConnection } from "./tls_connection.ts";
export { ConnectionClosedError, TruncationError } from "./errors.ts";
export {
  loadTrustStore,
  SYSTEM_CA_DIRS,
  SYSTEM_CA_FILES,
  systemTrustStore,
  TrustStoreError,
  type TrustStoreLocations,
} from "./trust_store.ts";
export { DatagramLinkError } from "./udp/mod.ts";
export {
  type DtlsClientStats,
  DtlsHandshakeTimeoutError,
  type RetransmitOptions,
} from "@anchortls/handshake/dtls";
export {
  type ChangeCipherSpecTrace,
  type CryptoProvider,
  describeTrace,
  type DtlsMessageTrace,
  exportSession,
  type FragmentLimits,
  type HandshakeInfo,
  type HandshakeMessageTrace,
  HandshakeTimeoutError,
  type HandshakeTrace,
  importSession,
  type ImportSessionOptions,
  type MaxFragmentLength,
  type PskCredentials,
  SessionCache,
  type SessionCacheOptions,
  SessionImportError,
  type SessionImportErrorReason,
  type TlsSession,
  type TracedFragment,
  type TraceDirection,
} from "@anchortls/handshake";
export {
  AlertDescription,
  AlertLevel,
  type CipherSuite,
  CipherSuites,
  PskCipherSuites,
  TlsAlertError,
} from "@anchortls/record";
export type {
  AeadAlgorithm,
  AeadCipherSuite,
  AeadCipherSuiteName,
  CbcCipherSuite,
  CbcCipherSuiteName,
  CipherSuiteCommon,
  CipherSuiteName,
  KeyExchange,
  PrfHash,
} from "@anchortls/record";
export {
  type Certificate,
  CertificateError,
  type CertificateErrorReason,
  type Crl,
  type CrlInput,
  type RevokedEntry,
} from "@anchortls/x509";
