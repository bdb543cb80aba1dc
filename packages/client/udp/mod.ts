/**
 * UDP for DTLS: a socket connected to one peer, as Web Streams of whole datagrams.
 *
 * @example Connecting to a peer
 * ```ts
 * import dgram from "node:dgram";
 * import { connectUdp } from "@anchortls/client/advanced";
 * const peer = dgram.createSocket("udp4");
 * await new Promise<void>((resolve) => peer.bind(0, "127.0.0.1", resolve));
 * const link = await connectUdp("127.0.0.1", peer.address().port);
 * await link.close();
 * peer.close();
 * ```
 *
 * @module
 */

export * from "./datagram_link.ts";
