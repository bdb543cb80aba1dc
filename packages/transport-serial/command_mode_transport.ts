/**
 * The host side of MULTOS serial command mode over any {@linkcode ByteLink}.
 *
 * @module
 */

import type { ApduTransport, ByteLink, TransmitOptions } from "./byte_link.ts";
import type { CommandTimeoutClass, CommandTimeouts } from "./command_timeouts.ts";
import {
  CommandExchange,
  type ExchangeExpectation,
  type ExchangeStep,
} from "./command_exchange.ts";
import { CommandQueue } from "./_command_queue.ts";
import { InboxClosed } from "./_inbox.ts";
import { LinkError } from "./link_error.ts";
import {
  type BaudRateCoding,
  type CommsParameters,
  encodeCommandApdu,
  encodeCommsParameters,
  encodeReset,
  hundredsOfBaud,
} from "./messages.ts";

/** Options for {@linkcode CommandModeTransport}. */
export interface CommandModeTransportOptions {
  /** Whether the chip ACKs each message before answering. @default {true} */
  ackMode?: boolean;
  /** Deadlines per class of command. @default {{ standard: 1000, long: 5000, keyGeneration: 30000 }} */
  timeouts?: Partial<CommandTimeouts>;
  /** Picks a command's timeout class. @default {trustCoreTimeoutClass} */
  classify?: (apdu: Uint8Array) => CommandTimeoutClass;
  /** Longest APDU accepted (the chip's ~3000-byte public buffer). @default {3000} */
  maxApduLength?: number;
  /** Longest response value (data ‖ SW) accepted; a longer length field is a framing error. @default {3072} */
  maxResponseLength?: number;
  /** Deadline for the ACK to a Reset. @default {1000} */
  resetTimeoutMs?: number;
  /**
   * Silence that must pass before a Reset is sent, so the rest of a broken answer is not taken
   * for the ACK; with ACK mode off, also the wait after the Reset. @default {20}
   */
  quietMs?: number;
  /** Deadline for the ACK to Comms Parameters (the chip may take up to 1 s). @default {2000} */
  commsParametersTimeoutMs?: number;
  /** How a baud rate becomes the Comms Parameters field. @default {hundredsOfBaud} */
  baudRateCoding?: BaudRateCoding;
}

/**
 * Sends command APDUs over a byte link in MULTOS serial command mode and returns the answers.
 *
 * One command is in flight at a time; further calls queue. Each command has a deadline picked
 * from its timeout class. A NACK fails the command with `LinkError("nack")` once the line is
 * quiet again; a silent chip,
 * garbage or a torn frame fails it with `timeout` or `framing` after the transport has waited
 * for silence and reset the chip (`error.resynchronised` says whether the Reset was ACKed).
 * When the Reset fails, the next command tries it again first. A damaged answer is never
 * returned as a good one, as far as its structure shows damage: the framing has no checksum.
 *
 * @example Talking to an emulated chip over an in-memory pair
 * ```ts
 * import {
 *   CommandModeDevice, CommandModeTransport, createMemoryLinkPair,
 * } from "@anchortls/transport-serial";
 * const [hostEnd, chipEnd] = createMemoryLinkPair();
 * const chip = new CommandModeDevice(chipEnd, () => Uint8Array.fromHex("9000"));
 * const transport = new CommandModeTransport(hostEnd);
 * const response = await transport.transmit(Uint8Array.fromHex("00a4040c000a"));
 * response.toHex(); // "9000"
 * await transport.close();
 * await chip.close();
 * ```
 */
export class CommandModeTransport implements ApduTransport {
  readonly #queue: CommandQueue;
  readonly #inbox: CommandQueue["inbox"];
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #maxResponseLength: number;
  readonly #resetTimeoutMs: number;
  readonly #quietMs: number;
  readonly #commsTimeoutMs: number;
  readonly #coding: BaudRateCoding;
  #ackMode: boolean;
  #needsReset = false;

  /**
   * Takes over a link; the transport reads and writes it exclusively from now on.
   *
   * @param link The link to the chip.
   * @param options Timeouts, ACK mode and limits.
   */
  constructor(link: ByteLink, options: CommandModeTransportOptions = {}) {
    this.#queue = new CommandQueue(link, options);
    this.#inbox = this.#queue.inbox;
    this.#writer = this.#queue.writer;
    this.#maxResponseLength = options.maxResponseLength ?? 3072;
    this.#resetTimeoutMs = options.resetTimeoutMs ?? 1000;
    this.#quietMs = options.quietMs ?? 20;
    this.#commsTimeoutMs = options.commsParametersTimeoutMs ?? 2000;
    this.#coding = options.baudRateCoding ?? hundredsOfBaud;
    this.#ackMode = options.ackMode ?? true;
  }

  /** Whether the chip is expected to ACK each message. */
  get ackMode(): boolean {
    return this.#ackMode;
  }

  /**
   * Sends one APDU and waits for its response.
   *
   * @param apdu The command in command-mode form (2-byte Lc and Le).
   * @param options A deadline overriding the command's timeout class.
   * @returns Response data ‖ SW1 SW2.
   * @throws {LinkError} On NACK, timeout, framing fault, oversize command or closed link.
   */
  transmit(apdu: Uint8Array, options: TransmitOptions = {}): Promise<Uint8Array> {
    return this.#queue.transmit(
      apdu,
      options,
      (command, timeoutMs) =>
        this.#exchange(encodeCommandApdu(command), "response", timeoutMs, command),
    );
  }

  /**
   * Resets the chip's command-mode state: waits for silence, sends Reset and (in ACK mode)
   * waits for its ACK.
   *
   * @throws {LinkError} `timeout` when the Reset is not acknowledged.
   */
  reset(): Promise<void> {
    return this.#queue.enqueue(async () => {
      if (!(await this.#resync())) {
        throw new LinkError("timeout", "chip did not acknowledge Reset", {
          command: encodeReset(),
        });
      }
    });
  }

  /**
   * Changes ACK mode and line speed with a Comms Parameters message. The chip ACKs the
   * message once the change is done (it may take up to a second); only then is the port
   * re-configured, through the link's `setBaudRate`.
   *
   * @param parameters The new ACK mode and baud rate.
   * @throws {LinkError} When the chip refuses or does not answer.
   */
  setCommsParameters(parameters: CommsParameters): Promise<void> {
    const message = encodeCommsParameters(parameters, this.#coding);
    return this.#queue.enqueue(async () => {
      await this.#exchange(message, "ack", this.#commsTimeoutMs, message);
      await this.#queue.link.setBaudRate?.(parameters.baudRate);
      this.#ackMode = parameters.ackMode;
    });
  }

  /** Fails queued commands with `closed`, stops reading and closes the link. */
  close(): Promise<void> {
    return this.#queue.close();
  }

  async #exchange(
    message: Uint8Array,
    expect: ExchangeExpectation,
    timeoutMs: number,
    command: Uint8Array,
  ): Promise<Uint8Array> {
    try {
      if (this.#needsReset && !(await this.#resync())) {
        throw new LinkError("timeout", "chip did not acknowledge Reset after an earlier failure", {
          command,
        });
      }
      this.#inbox.discardQueued();
      const exchange = new CommandExchange({
        expect,
        ackMode: this.#ackMode,
        maxValueLength: this.#maxResponseLength,
      });
      await this.#writer.write(message);
      const step = await this.#drive(exchange, timeoutMs);
      if (step.kind === "done") return step.value;
      if (!step.needsReset) await this.#settle();
      const resynchronised = step.needsReset ? await this.#resync() : false;
      throw new LinkError(step.failure, step.reason, { command, resynchronised });
    } catch (error) {
      throw this.#closedError(error, command);
    }
  }

  async #drive(
    exchange: CommandExchange,
    timeoutMs: number,
  ): Promise<Exclude<ExchangeStep, { kind: "pending" }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const chunk = await this.#inbox.next(deadline - Date.now());
      const step = chunk === null ? exchange.timeout() : exchange.receive(chunk);
      if (step.kind !== "pending") return step;
    }
  }

  /**
   * Discards input until the line has been silent for `quietMs`, so that bytes still coming
   * from a failed exchange are not read as the answer to the next message.
   *
   * @returns False when the line never fell silent within the reset timeout.
   */
  async #settle(): Promise<boolean> {
    const giveUpAt = Date.now() + this.#resetTimeoutMs;
    while ((await this.#inbox.next(this.#quietMs)) !== null) {
      if (Date.now() > giveUpAt) return false;
    }
    return true;
  }

  /** Waits for silence, sends Reset, and reports whether the chip is known to be in sync. */
  async #resync(): Promise<boolean> {
    this.#needsReset = true;
    if (!(await this.#settle())) return false;
    await this.#writer.write(encodeReset());
    if (this.#ackMode) {
      const exchange = new CommandExchange({ expect: "ack", ackMode: true, maxValueLength: 0 });
      const step = await this.#drive(exchange, this.#resetTimeoutMs);
      if (step.kind !== "done") return false;
    } else if (!(await this.#settle())) {
      return false;
    }
    this.#needsReset = false;
    return true;
  }

  #closedError(error: unknown, command: Uint8Array): unknown {
    if (error instanceof LinkError) return error;
    if (error instanceof InboxClosed || this.#queue.closed) {
      return new LinkError("closed", "link closed", { command, cause: error });
    }
    return new LinkError("closed", "link failed", { command, cause: error });
  }
}
