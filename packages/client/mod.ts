/**
 * A TLS 1.2 client for Deno built from the anchortls packages: `connectTls` opens a TCP
 * connection, runs the handshake with secrets held by a `CryptoProvider` (software or a
 * secure element), and hands back byte Web Streams.
 *
 * @example Talking to a local `openssl s_server`
 * ```ts ignore
 * import { connectTls } from "@anchortls/client";
 * const tls = await connectTls({
 *   hostname: "127.0.0.1",
 *   port: 4433,
 *   serverName: "localhost",
 *   caCerts: [await Deno.readTextFile("root.pem")],
 * });
 * const { suite, encryptThenMac, extendedMasterSecret } = await tls.handshake;
 * await tls.close();
 * ```
 *
 * @module
 */

export * from "./connect_tls.ts";
export * from "./errors.ts";
export * from "./tls_connection.ts";
