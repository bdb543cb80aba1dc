/**
 * Opens a DTLS connection the way `connectDtls` does, but over a UDP link the examples can
 * watch: datagrams and bytes are counted and, on request, each record is described from the
 * DTLS framing (RFC 6347 §4.1, §4.2.2) — the handshake package has no trace hook. Protected
 * records (epoch 1 and up) are never looked into; only names, sequence numbers and sizes are
 * printed.
 *
 * @module
 */

import { type DtlsConnection } from "@anchortls/client";
import { connectUdp, type DatagramLink, startDtls } from "@anchortls/client/advanced";
import { handshakeTypeName } from "@anchortls/handshake";
import { alertName } from "@anchortls/record";
import { type Direction, observeStreams, type WireCounters } from "./_trace.ts";
import { type ConnectTarget, parseRoots } from "./_tls.ts";

const RECORD_HEADER = 13;
const HANDSHAKE_HEADER = 12;

/**
 * Describes the records in one datagram.
 *
 * @param direction Who sent it.
 * @param datagram The UDP payload.
 * @returns One line per record.
 */
export function describeDatagram(direction: Direction, datagram: Uint8Array): string[] {
  const arrow = direction === "client" ? "→" : "←";
  const lines: string[] = [];
  for (let at = 0; at < datagram.length;) {
    if (datagram.length - at < RECORD_HEADER) {
      lines.push(`${arrow} ${datagram.length - at} trailing bytes (not a record)`);
      break;
    }
    const type = datagram[at]!;
    const epoch = (datagram[at + 3]! << 8) | datagram[at + 4]!;
    const length = (datagram[at + 11]! << 8) | datagram[at + 12]!;
    const body = datagram.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
    at += RECORD_HEADER + length;
    lines.push(`${arrow} ${describeRecord(type, epoch, body)}`);
  }
  return lines;
}

function describeRecord(type: number, epoch: number, body: Uint8Array): string {
  const where = `epoch ${epoch}`;
  switch (type) {
    case 20:
      return `ChangeCipherSpec (${where}; protection on from here)`;
    case 21:
      if (epoch > 0) return `alert (protected, ${where}, ${body.length}-byte record)`;
      return body.length === 2
        ? `alert ${body[0] === 2 ? "fatal" : "warning"} ${alertName(body[1]!)}`
        : "alert (malformed)";
    case 23:
      return `application data (${where}, ${body.length}-byte record)`;
    case 22: {
      if (epoch > 0) {
        return `finished or later handshake (protected, ${where}, ${body.length}-byte record)`;
      }
      if (body.length < HANDSHAKE_HEADER) return "handshake (truncated header)";
      const total = (body[1]! << 16) | (body[2]! << 8) | body[3]!;
      const sequence = (body[4]! << 8) | body[5]!;
      const offset = (body[6]! << 16) | (body[7]! << 8) | body[8]!;
      const fragment = (body[9]! << 16) | (body[10]! << 8) | body[11]!;
      const part = offset === 0 && fragment === total
        ? `${total} bytes`
        : `bytes ${offset}–${offset + fragment} of ${total}`;
      return `${handshakeTypeName(body[0]!)} (message ${sequence}, ${part})`;
    }
    default:
      return `record of unknown type ${type} (${body.length} bytes)`;
  }
}

/**
 * Wraps a UDP link so every datagram is counted and, with `trace`, described.
 *
 * @param link The real link.
 * @param counters Incremented with each datagram's size.
 * @param trace Receives one line per record, or undefined for none.
 * @returns A link with the same behaviour.
 */
export function observeDatagramLink(
  link: DatagramLink,
  counters: WireCounters,
  trace: ((line: string) => void) | undefined,
): DatagramLink {
  const see = (direction: Direction, datagram: Uint8Array) => {
    counters[direction === "client" ? "sent" : "received"] += datagram.length;
    if (trace) { for (const line of describeDatagram(direction, datagram)) trace(line); }
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
  const trustAnchors = parseRoots(options.caPem);
  const wire: WireCounters = { sent: 0, received: 0 };
  const link = observeDatagramLink(
    await connectUdp(options.hostname, options.port),
    wire,
    options.trace,
  );
  const connection = startDtls(link, {
    provider: options.provider,
    trustAnchors,
    serverName: options.serverName,
    encryptThenMac: options.encryptThenMac,
    retransmit: { handshakeTimeoutMs: options.handshakeTimeoutMs },
    ...(options.suites ? { suites: options.suites } : {}),
  });
  return { connection, wire };
}
