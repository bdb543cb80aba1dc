/**
 * Opens a DTLS connection the way `connectDtls` does, but over a UDP link the examples can
 * watch: datagrams and bytes are counted, and on request the library's trace hook describes
 * each handshake message (message_seq, epoch, fragments; never contents).
 *
 * @module
 */

import { type DtlsConnection } from "@anchortls/client";
import { connectUdp, type DatagramLink, startDtls } from "@anchortls/client/advanced";
import { type Direction, observeStreams, type WireCounters } from "./_trace.ts";
import { type ConnectTarget, observability, parseRoots, resumption } from "./_tls.ts";

/**
 * Wraps a UDP link so every datagram is counted.
 *
 * @param link The real link.
 * @param counters Incremented with each datagram's size.
 * @returns A link with the same behaviour.
 */
export function observeDatagramLink(link: DatagramLink, counters: WireCounters): DatagramLink {
  const see = (direction: Direction, datagram: Uint8Array) => {
    counters[direction === "client" ? "sent" : "received"] += datagram.length;
  };
  return {
    ...observeStreams(link, see),
    localAddress: link.localAddress,
    remoteAddress: link.remoteAddress,
    get stats() {
      return link.stats;
    },
    send(datagram: Uint8Array) {
      see("client", datagram);
      return link.send(datagram);
    },
    close: () => link.close(),
  };
}

/** What {@linkcode openDtls} needs. */
export interface OpenDtlsOptions extends ConnectTarget {
  /** How long the handshake may take, retransmissions included. */
  readonly handshakeTimeoutMs: number;
  /** Ask for a Connection ID (RFC 9146): 4 random bytes. */
  readonly connectionId?: boolean;
}

/** An open DTLS connection and its byte counters. */
export interface ObservedDtls {
  /** The connection; await `connection.handshake`. */
  readonly connection: DtlsConnection;
  /** UDP payload bytes each way so far. */
  readonly wire: WireCounters;
}

/**
 * Opens a UDP link to the server and starts the DTLS handshake over it.
 *
 * @param options Where, whom to trust, how to negotiate, how long to try.
 * @returns The connection and its counters.
 */
export async function openDtls(options: OpenDtlsOptions): Promise<ObservedDtls> {
  const trustAnchors = parseRoots(options.caPem, options.psk);
  const wire: WireCounters = { sent: 0, received: 0 };
  const link = observeDatagramLink(await connectUdp(options.hostname, options.port), wire);
  const connection = startDtls(link, {
    provider: options.provider,
    trustAnchors,
    serverName: options.serverName,
    encryptThenMac: options.encryptThenMac,
    retransmit: { handshakeTimeoutMs: options.handshakeTimeoutMs },
    ...(options.connectionId ? { connectionId: crypto.getRandomValues(new Uint8Array(4)) } : {}),
    ...(options.suites ? { suites: options.suites } : {}),
    ...resumption(options),
    ...observability(options),
  });
  return { connection, wire };
}
