/**
 * The two seams of this package: a byte link (a duplex byte pipe) and an APDU transport
 * (something that sends one command APDU and returns its response).
 *
 * @module
 */

/**
 * A duplex byte pipe to a chip or an adapter: a serial port, a TCP bridge or one end of an
 * in-memory pair.
 *
 * Closing the link ends its readable side and releases the underlying resource.
 *
 * @example Writing and reading
 * ```ts
 * import { createMemoryLinkPair } from "@anchortls/transport-serial";
 * const [a, b] = createMemoryLinkPair();
 * const writer = a.writable.getWriter();
 * await writer.write(new Uint8Array([1, 2, 3]));
 * writer.releaseLock();
 * const reader = b.readable.getReader();
 * const { value } = await reader.read(); // Uint8Array [1, 2, 3]
 * reader.releaseLock();
 * await a.close();
 * await b.close();
 * ```
 */
export interface ByteLink {
  /** Bytes from the peer, in arrival-sized chunks. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  readonly writable: WritableStream<Uint8Array>;
  /** Closes both directions and releases the resource. */
  close(): Promise<void>;
  /**
   * Changes the line speed of a real port (after a Comms Parameters exchange). Links without a
   * line speed (TCP, in-memory) may omit it or accept any value.
   */
  setBaudRate?(baudRate: number): Promise<void>;
}

/** Per-call options of {@linkcode ApduTransport.transmit}. */
export interface TransmitOptions {
  /** Deadline for this command in milliseconds, overriding the transport's choice. */
  timeoutMs?: number | undefined;
}

/**
 * Sends command-mode APDUs (2-byte Lc and Le) to the chip, one at a time.
 *
 * @example Sending GET RANDOM
 * ```ts ignore
 * import type { ApduTransport } from "@anchortls/transport-serial";
 * declare const transport: ApduTransport;
 * const response = await transport.transmit(Uint8Array.fromHex("8084000000000008"));
 * const sw = (response.at(-2)! << 8) | response.at(-1)!;
 * ```
 */
export interface ApduTransport {
  /**
   * Sends one command APDU and waits for its answer.
   *
   * @param apdu The command APDU in command-mode form.
   * @param options Per-call options.
   * @returns Response data ‖ SW1 SW2.
   */
  transmit(apdu: Uint8Array, options?: TransmitOptions): Promise<Uint8Array>;
  /** Stops the transport and closes its link. */
  close(): Promise<void>;
  /**
   * How many times the transport has reset the chip (to recover a lost exchange, or on
   * request). A reset deselects the applet and forgets verified PINs and session keys, so a
   * client that sees this number change selects the applet and verifies its PIN again.
   * Transports that never reset omit it.
   */
  readonly resets?: number;
}
