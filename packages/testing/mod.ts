/**
 * The repository's test house, never published: the test peers every package's tests and the
 * benchmarks share, so no product package carries test support and no test server is written
 * twice.
 *
 * - {@linkcode ServerHandshake}: the one sans-IO server side of a TLS 1.2 / DTLS 1.2 RSA key
 *   exchange (honest premaster decryption, hooks on every message, sessions for resumption).
 * - Record layers around it: {@linkcode ScriptedPeer} and {@linkcode PeerHandshake} (TLS, on
 *   TCP with {@linkcode scriptedServer} or in memory with {@linkcode memoryScriptedServer}),
 *   {@linkcode ScriptedDtlsPeer} and {@linkcode DtlsPeerHandshake} (UDP), and the in-memory
 *   {@linkcode DtlsTestServer} with cookies, fragmentation and retransmission.
 * - {@linkcode DtlsPair}: a DTLS client core and that server on a seeded
 *   {@linkcode LossyChannel} and a {@linkcode FakeClock}.
 * - Real peers: {@linkcode createTestPki}, {@linkcode startOpenSslServer},
 *   {@linkcode startGnutlsServer}, {@linkcode startPeerProcess}, {@linkcode startUdpFaultProxy},
 *   the fixed PKI ({@linkcode fixedPki}).
 * - {@linkcode CountingProvider}, which tracks unreleased secret handles and holds a call open.
 *
 * @example The fixed PKI's root as trust anchors for a sans-IO DTLS run
 * ```ts
 * import { DtlsPair } from "@anchortls/testing";
 * const pair = new DtlsPair(1);
 * await pair.handshake();
 * console.log(pair.client.state); // "connected"
 * ```
 *
 * @module
 */

export * from "./server_handshake.ts";
export * from "./tls_records.ts";
export * from "./tls_memory_server.ts";
export * from "./tls_peer.ts";
export * from "./dtls_peer.ts";
export * from "./dtls_memory_server.ts";
export * from "./dtls_pair.ts";
export * from "./memory_connection.ts";
export * from "./seeded_random.ts";
export * from "./fault_plan.ts";
export * from "./lossy_channel.ts";
export * from "./udp_fault_proxy.ts";
export * from "./peers.ts";
export * from "./counting_provider.ts";
export * from "./rsa_decrypt.ts";
export * from "./feed_record.ts";
