/**
 * `connectDtls`: a DTLS 1.2 client connection over UDP, the datagram sibling of `connectTls`.
 *
 * @module
 */

import type { RetransmitOptions } from "@anchortls/handshake/dtls";
import { chooseSession, resolveSharedOptions } from "./_options.ts";
import type { CommonConnectOptions } from "./connect_options.ts";
import { type DtlsConnection, startDtls } from "./dtls_connection.ts";
import { connectUdp } from "./udp/mod.ts";

/** Options for {@linkcode connectDtls}. */
export interface ConnectDtlsOptions extends CommonConnectOptions {
  /** UDP port. */
  readonly port: number;
  /**
   * Path MTU: most bytes of UDP payload per datagram. Handshake flights are fragmented to it
   * and each write must fit one datagram. @default {1200}
   */
  readonly mtu?: number;
  /**
   * Retransmission timer (initial timeout, cap) and handshake deadline.
   * @default {{ initialTimeoutMs: 1000, maxTimeoutMs: 60000, handshakeTimeoutMs: 60000 }}
   */
  readonly retransmit?: RetransmitOptions;
  /**
   * Ask for a DTLS Connection ID (RFC 9146): `true` picks 4 random bytes, or give the CID the
   * server is to address us by (an empty one: we take no CID but send the server's). When the
   * server agrees, records after the handshake carry CIDs, so the association survives a NAT
   * rebinding or a change of our address; `info.connectionId` shows both. @default {false}
   */
  readonly connectionId?: boolean | Uint8Array;
  /** Cancels the handshake. */
  readonly signal?: AbortSignal;
}

/**
 * Opens a UDP socket connected to the server (through `node:dgram`, so no unstable flag is
 * needed) and runs a DTLS 1.2 handshake over it: cookie exchange, fragmentation to the MTU,
 * retransmission, replay protection.
 *
 * The returned connection is usable at once: writes wait for the handshake. Each write is one
 * datagram, each chunk read is one datagram's message.
 *
 * @example Talking to a local `gnutls-serv -u --echo`
 * ```ts ignore
 * import { connectDtls } from "@anchortls/client";
 * const dtls = await connectDtls({
 *   hostname: "127.0.0.1",
 *   port: 5684,
 *   serverName: "localhost",
 *   caCerts: [await Deno.readTextFile("root.pem")],
 * });
 * console.log((await dtls.handshake).suite.name);
 * const writer = dtls.writable.getWriter();
 * await writer.write(new TextEncoder().encode("ping"));
 * const reader = dtls.readable.getReader();
 * console.log(new TextDecoder().decode((await reader.read()).value)); // "ping"
 * await dtls.close();
 * ```
 *
 * @param options Where to connect, whom to trust, and how to negotiate.
 * @returns The connection, once the UDP socket is open.
 * @throws {TypeError} For inconsistent options.
 * @throws {RangeError} For an MTU that cannot carry a handshake.
 */
export async function connectDtls(options: ConnectDtlsOptions): Promise<DtlsConnection> {
  const settings = await resolveSharedOptions(options);
  const { session, remember } = chooseSession(
    options.session,
    `${settings.serverName}:${options.port}/udp`,
  );
  const link = await connectUdp(options.hostname, options.port);
  try {
    options.signal?.throwIfAborted();
    const dtls = startDtls(link, {
      ...settings,
      ...(session ? { session } : {}),
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(options.retransmit ? { retransmit: options.retransmit } : {}),
      ...(options.connectionId
        ? {
          connectionId: options.connectionId === true
            ? crypto.getRandomValues(new Uint8Array(4))
            : options.connectionId,
        }
        : {}),
    });
    // Registered before the caller can await the handshake, so the cache holds the session
    // by the time they reconnect.
    dtls.handshake.then(remember, () => {});
    return dtls;
  } catch (error) {
    await link.close();
    throw error;
  }
}
