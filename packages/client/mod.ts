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

export * from "./connect_tls.ts";
export * from "./connect_dtls.ts";
export * from "./dtls_connection.ts";
export { connectUdp, type DatagramLink } from "./udp/mod.ts";
export { DtlsHandshakeTimeoutError } from "@anchortls/handshake/dtls";
export * from "./errors.ts";
export * from "./tls_connection.ts";
// What a connectTls user needs to configure it and to tell its errors apart.
export { type HandshakeInfo, SessionCache } from "@anchortls/handshake";
export { AlertDescription, CipherSuites, TlsAlertError } from "@anchortls/record";
export { CertificateError } from "@anchortls/x509";
