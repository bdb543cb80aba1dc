/**
 * The sans-IO TLS 1.2 client connection: bytes, end of stream and time in; bytes to send,
 * events and the next timeout out. `@anchortls/client`'s `startTls` drives it over a byte
 * transport.
 *
 * @example A handshake that cannot start without a peer
 * ```ts
 * import { TlsClientCore } from "@anchortls/handshake/tls";
 * import { SoftwareCryptoProvider } from "@anchortls/handshake";
 * const tls = new TlsClientCore({
 *   provider: new SoftwareCryptoProvider(),
 *   trustAnchors: [],
 *   serverName: "localhost",
 * });
 * await tls.start(Date.now());
 * tls.pollTransmit()[0]![0]; // 22: the ClientHello's record
 * tls.pollTimeout(); // the handshake deadline
 * ```
 *
 * @module
 */

export * from "./tls_client.ts";
