/**
 * The DTLS interop tests' client side: `connectDtls` to a local peer, trusting the fixed test
 * root, with a short first retransmission timeout so a lost flight costs little.
 *
 * @module
 */

import { connectDtls, type ConnectDtlsOptions, type DtlsConnection } from "../mod.ts";
import { fixedPki, type PeerProcess } from "@anchortls/testing";

/**
 * Connects to a peer on 127.0.0.1 as `localhost`.
 *
 * @param peer The running server.
 * @param options Anything to set beyond the defaults.
 * @returns The connection (its handshake may still be running).
 */
export async function connectToPeer(
  peer: PeerProcess,
  options: Partial<ConnectDtlsOptions> = {},
): Promise<DtlsConnection> {
  return await connectDtls({
    hostname: "127.0.0.1",
    port: peer.port,
    serverName: "localhost",
    caCerts: [await Deno.readTextFile(fixedPki.root)],
    retransmit: { initialTimeoutMs: 300, handshakeTimeoutMs: 15_000 },
    ...options,
  });
}
