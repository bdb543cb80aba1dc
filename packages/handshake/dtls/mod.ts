/**
 * DTLS 1.2 (RFC 6347) building blocks for the handshake, each sans-IO: the handshake header
 * codec, fragmentation to a path MTU with datagram packing, bounded reassembly, the flight
 * retransmission timer with a handshake deadline, and the last-flight tracker.
 *
 * @example Cutting a message to the MTU and putting it back together
 * ```ts
 * import {
 *   decodeDtlsHandshakeRecord,
 *   DtlsReassembler,
 *   fragmentHandshakeMessage,
 *   maxHandshakeFragmentLength,
 * } from "./mod.ts";
 * const message = { msgType: 11, messageSeq: 0, body: new Uint8Array(3000) };
 * const records = fragmentHandshakeMessage(message, maxHandshakeFragmentLength(1200, 0));
 * const reassembler = new DtlsReassembler();
 * for (const record of records.reverse()) {
 *   for (const fragment of decodeDtlsHandshakeRecord(record)) reassembler.push(fragment);
 * }
 * reassembler.next()?.body.length; // 3000
 * ```
 *
 * @module
 */

export * from "./handshake_header.ts";
export * from "./fragmenter.ts";
export * from "./reassembler.ts";
export * from "./retransmit_timer.ts";
export * from "./flight.ts";
export * from "./dtls_framing.ts";
export * from "./dtls_client.ts";
