/**
 * The chip side of MULTOS serial command mode: reads framed messages from a byte link and
 * answers APDUs through a handler, so an emulated chip can sit behind a pseudo-terminal, a TCP
 * port or an in-memory link.
 *
 * @module
 */

import type { ByteLink } from "./byte_link.ts";
import { Inbox, InboxClosed } from "./_inbox.ts";
import {
  type BaudRateCoding,
  decodeCommsParameters,
  hundredsOfBaud,
  MessageTag,
} from "./messages.ts";
import { encodeTlv, TlvDecoder } from "./tlv.ts";

/**
 * Answers one command APDU with response data ‖ SW1 SW2.
 *
 * @param apdu The command in command-mode form.
 * @returns The response, or a promise of it.
 */
export type ApduHandler = (apdu: Uint8Array) => Promise<Uint8Array> | Uint8Array;

/** Options for {@linkcode CommandModeDevice}. */
export interface CommandModeDeviceOptions {
  /** Whether to ACK each valid message before acting on it. @default {true} */
  ackMode?: boolean;
  /** Tag of response messages (0x40–0xBF). @default {0x80} */
  responseTag?: number;
  /**
   * Silence after which an unfinished message counts as torn: it is dropped and NACKed. Long
   * enough for a busy host or pty relay to stall mid-frame, short enough to NACK well within
   * the host's 1 s deadline. @default {200}
   */
  interByteTimeoutMs?: number;
  /** Longest command value accepted. @default {3000} */
  maxCommandLength?: number;
  /** How the Comms Parameters field becomes a baud rate. @default {hundredsOfBaud} */
  baudRateCoding?: BaudRateCoding;
  /** Called when the host sends Reset (after any answer in progress was abandoned). */
  onReset?: () => void;
  /**
   * The line speed a Reset returns to, after a Comms Parameters message changed it (the chip
   * forgets its interface settings on a reset, as the vendor's drivers assume). @default {115200}
   */
  defaultBaudRate?: number;
}

/** Status word sent when the handler throws: 6F00, no precise diagnosis. */
const SW_UNKNOWN = new Uint8Array([0x6f, 0x00]);

/**
 * Serves command mode on a byte link until the link ends or {@linkcode CommandModeDevice.close}.
 *
 * Behaviour, chosen where the vendor sources are silent: in ACK mode every valid Command APDU
 * and every Reset is ACKed (`01`) before it is acted on; Comms Parameters is always ACKed, at
 * the old speed, and the new settings apply after the ACK (all of them are kept as they were
 * when the port refuses the speed); anything malformed, torn, unknown, followed by stray bytes or
 * arriving while an APDU is being processed is NACKed (`3F`). A Reset abandons the APDU in
 * progress: its answer is never sent; after its ACK the device is back at its defaults (the ACK
 * mode it was created with, `defaultBaudRate`), as a chip forgets its interface settings.
 *
 * @example An echo chip
 * ```ts
 * import { CommandModeDevice, createMemoryLinkPair } from "@anchortls/transport-serial";
 * const [host, chipEnd] = createMemoryLinkPair();
 * const chip = new CommandModeDevice(chipEnd, (apdu) => {
 *   const out = new Uint8Array(apdu.length + 2);
 *   out.set(apdu);
 *   out.set([0x90, 0x00], apdu.length);
 *   return out;
 * });
 * await chip.close();
 * await host.close();
 * ```
 */
export class CommandModeDevice {
  readonly #link: ByteLink;
  readonly #handler: ApduHandler;
  readonly #inbox: Inbox;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #decoder: TlvDecoder;
  readonly #responseTag: number;
  readonly #gapMs: number;
  readonly #coding: BaudRateCoding;
  readonly #onReset: (() => void) | undefined;
  readonly #served: Promise<void>;
  readonly #defaultAckMode: boolean;
  readonly #defaultBaudRate: number;
  #baudChanged = false;
  #ackMode: boolean;
  #generation = 0;
  #busy = false;
  #closed = false;
  #commands = 0;

  /**
   * Starts serving at once.
   *
   * @param link The chip's end of the link.
   * @param handler Answers each APDU.
   * @param options ACK mode, response tag, timing.
   */
  constructor(link: ByteLink, handler: ApduHandler, options: CommandModeDeviceOptions = {}) {
    this.#link = link;
    this.#handler = handler;
    this.#inbox = new Inbox(link.readable);
    this.#writer = link.writable.getWriter();
    this.#decoder = new TlvDecoder({ maxValueLength: options.maxCommandLength ?? 3000 });
    this.#responseTag = options.responseTag ?? MessageTag.response;
    if (this.#responseTag < 0x40 || this.#responseTag > 0xbf) {
      throw new RangeError(`response tag 0x${this.#responseTag.toString(16)} not in 0x40–0xBF`);
    }
    this.#gapMs = options.interByteTimeoutMs ?? 200;
    this.#coding = options.baudRateCoding ?? hundredsOfBaud;
    this.#onReset = options.onReset;
    this.#ackMode = options.ackMode ?? true;
    this.#defaultAckMode = this.#ackMode;
    this.#defaultBaudRate = options.defaultBaudRate ?? 115200;
    this.#served = this.#serve();
  }

  /** Whether the device currently ACKs messages. */
  get ackMode(): boolean {
    return this.#ackMode;
  }

  /** How many APDUs were handed to the handler. */
  get commandsHandled(): number {
    return this.#commands;
  }

  /** Settles when serving stops (the link ended or the device was closed). */
  get finished(): Promise<void> {
    return this.#served;
  }

  /** Stops serving and closes the link; an answer still being computed is dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#inbox.close();
    await this.#served;
    this.#writer.releaseLock();
    await this.#link.close();
  }

  async #serve(): Promise<void> {
    try {
      for (;;) {
        const partial = this.#decoder.buffered > 0;
        const chunk = await this.#inbox.next(partial ? this.#gapMs : undefined);
        if (chunk === null) {
          this.#decoder.clear();
          await this.#send(MessageTag.nack);
          continue;
        }
        this.#decoder.push(chunk);
        await this.#drain();
      }
    } catch (error) {
      if (!(error instanceof InboxClosed) && !this.#closed) throw error;
    }
  }

  async #drain(): Promise<void> {
    for (;;) {
      const next = this.#decoder.next();
      if (next.kind === "needMore") return;
      if (next.kind === "error") {
        this.#decoder.clear();
        await this.#send(MessageTag.nack);
        return;
      }
      const { tag, value } = next.frame;
      if (tag === MessageTag.reset) {
        this.#generation++;
        this.#busy = false;
        this.#onReset?.();
        if (this.#ackMode) await this.#send(MessageTag.ack);
        this.#ackMode = this.#defaultAckMode;
        if (this.#baudChanged) {
          this.#baudChanged = false;
          await this.#link.setBaudRate?.(this.#defaultBaudRate).catch(() => undefined);
        }
      } else if (tag === MessageTag.commsParameters) {
        const parameters = decodeCommsParameters(value, this.#coding);
        if (!parameters) {
          await this.#send(MessageTag.nack);
          continue;
        }
        // The ACK still travels at the old speed; the host re-configures its port after it.
        await this.#send(MessageTag.ack);
        try {
          await this.#link.setBaudRate?.(parameters.baudRate);
          this.#baudChanged = parameters.baudRate !== this.#defaultBaudRate;
        } catch {
          // The port cannot run at that speed. Keep the old settings and keep serving, as the
          // host's transport does when its own port refuses the rate.
          continue;
        }
        this.#ackMode = parameters.ackMode;
      } else if (tag === MessageTag.commandApdu && !this.#busy && this.#decoder.buffered === 0) {
        if (this.#ackMode) await this.#send(MessageTag.ack);
        this.#busy = true;
        this.#commands++;
        this.#answer(value, this.#generation);
      } else {
        this.#decoder.clear();
        await this.#send(MessageTag.nack);
        return;
      }
    }
  }

  #answer(apdu: Uint8Array, generation: number): void {
    const respond = async (): Promise<void> => {
      let response: Uint8Array;
      try {
        response = encodeTlv(this.#responseTag, await this.#handler(apdu));
      } catch {
        response = encodeTlv(this.#responseTag, SW_UNKNOWN);
      }
      if (generation !== this.#generation || this.#closed) return;
      this.#busy = false;
      await this.#writer.write(response);
    };
    respond().catch(() => {
      // The link went away while answering; serving stops through the inbox.
    });
  }

  async #send(tag: number): Promise<void> {
    await this.#writer.write(new Uint8Array([tag]));
  }
}
