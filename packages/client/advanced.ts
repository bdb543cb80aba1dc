/**
 * The layer under `connectTls` and `connectDtls`, for what the main entry does not cover: your
 * own byte transport (`startTls` over any `ByteTransport`, e.g. a serial modem or a Unix
 * socket), your own datagram link (`startDtls` over a `DatagramLink`, `connectUdp`), and the
 * types a `CryptoProvider` implementation (a secure element of your own) works with.
 *
 * @example TLS over a transport of your own
 * ```ts ignore
 * import { startTls } from "@anchortls/client/advanced";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 4433 });
 * const tls = startTls(conn, { provider, trustAnchors, serverName: "localhost" });
 * await tls.handshake;
 * ```
 *
 * @module
 */

export {
  type ByteTransport,
  DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
  MAX_CONSECUTIVE_EMPTY_RECORDS,
  MAX_CONSECUTIVE_WARNING_ALERTS,
  startTls,
  type StartTlsOptions,
} from "./tls_connection.ts";
export { startDtls, type StartDtlsOptions } from "./dtls_connection.ts";
export * from "./udp/mod.ts";
export type { DtlsClientConfig, FlightTrackerOptions } from "@anchortls/handshake/dtls";
export type { TlsClientConfig } from "@anchortls/handshake/tls";
export type {
  ClientHandshakeConfig,
  CryptoPolicy,
  EncryptedPremaster,
  FinishedLabel,
  HandshakeFraming,
  HandshakeMessage,
  HelloRandoms,
  KeyAgreement,
  MasterSecretContext,
  MasterSecretHandle,
  Placement,
  PortableMasterSecret,
  PremasterHandle,
  ProviderOperation,
  RecordKeyOptions,
  RecordKeys,
  RecordRequirements,
  SecretHandle,
  TraceOptions,
} from "@anchortls/handshake";
export type {
  AeadAlgorithm,
  AeadCipherSuite,
  CbcCipherSuite,
  CipherSuiteCommon,
  KeyExchange,
  PrfHash,
  ProtocolVersion,
  RecordContext,
  RecordProtector,
} from "@anchortls/record";
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
  PolicyConstraints,
  PolicyMapping,
  PublicKeyInfo,
  SignatureAlgorithm,
} from "@anchortls/x509";
