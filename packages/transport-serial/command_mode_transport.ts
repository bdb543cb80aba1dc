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

/** ACKs on at 115200 baud: what this package assumes a chip starts in and returns to. */
const DEFAULT_CHIP_SETTINGS: CommsParameters = Object.freeze({ ackMode: true, baudRate: 115200 });

/** Options for {@linkcode CommandModeTransport}. */
export interface CommandModeTransportOptions {
  /**
   * Whether the chip ACKs each message before answering, when the transport takes over the
   * link; {@linkcode CommandModeTransport.open} sets it explicitly instead. @default {true}
   */
  ackMode?: boolean;
  /**
   * What the chip returns to after a Reset (it forgets its interface settings): its ACK mode
   * and line speed. The vendor sources do not state the chip's defaults; ACKs on at 115200 is
   * this package's assumption. @default {{ ackMode: true, baudRate: 115200 }}
   */
  chipDefaults?: CommsParameters;
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

/** Options for {@linkcode CommandModeTransport.open}. */
export interface CommandModeOpenOptions extends Omit<CommandModeTransportOptions, "ackMode"> {
  /**
   * The ACK mode and line speed to put the chip in with a Comms Parameters message before the
   * first command, rather than assuming what it is in. @default {chipDefaults}
   */
  commsParameters?: CommsParameters;
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
  readonly #chipDefaults: CommsParameters;
  #ackMode: boolean;
  #needsReset = false;
  #resets = 0;
  #baudChanged = false;

  /**
   * Takes over a link and puts the chip in a known state first: one Comms Parameters message
   * (ACK mode and line speed), ACKed once the change is done, so nothing is assumed about the
   * mode the chip was left in.
   *
   * @example Over an in-memory pair
   * ```ts
   * import {
   *   CommandModeDevice, CommandModeTransport, createMemoryLinkPair,
   * } from "@anchortls/transport-serial";
   * const [hostEnd, chipEnd] = createMemoryLinkPair();
   * const chip = new CommandModeDevice(chipEnd, () => Uint8Array.fromHex("9000"));
   * const transport = await CommandModeTransport.open(hostEnd, {
   *   commsParameters: { ackMode: true, baudRate: 115200 },
   * });
   * await transport.close();
   * await chip.close();
   * ```
   *
   * @param link The link to the chip.
   * @param options The parameters to set, timeouts and limits.
   * @returns The transport, once the chip ACKed the parameters.
   * @throws {LinkError} When the chip does not ACK them; the link is closed then.
   */
  static async open(
    link: ByteLink,
    options: CommandModeOpenOptions = {},
  ): Promise<CommandModeTransport> {
    const { commsParameters, ...rest } = options;
    const parameters = commsParameters ?? options.chipDefaults ?? DEFAULT_CHIP_SETTINGS;
    // The Comms Parameters message is always ACKed, in either mode.
    const transport = new CommandModeTransport(link, { ...rest, ackMode: true });
    try {
      await transport.setCommsParameters(parameters);
    } catch (error) {
      await transport.close();
      throw error;
    }
    return transport;
  }

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
    this.#chipDefaults = options.chipDefaults ?? DEFAULT_CHIP_SETTINGS;
    this.#ackMode = options.ackMode ?? true;
  }

  /** Whether the chip is expected to ACK each message. */
  get ackMode(): boolean {
    return this.#ackMode;
  }

  /** How many Resets this transport has sent; each deselects the applet. */
  get resets(): number {
    return this.#resets;
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
      this.#baudChanged = parameters.baudRate !== this.#chipDefaults.baudRate;
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
    // Whether or not it is ACKed, a Reset may have reached the chip: its applet is deselected.
    this.#resets++;
    const acked = this.#ackMode
      ? (await this.#drive(
        new CommandExchange({ expect: "ack", ackMode: true, maxValueLength: 0 }),
        this.#resetTimeoutMs,
      )).kind === "done"
      : await this.#settle();
    if (!acked) return false;
    // The chip is back at its defaults; so is this side.
    this.#ackMode = this.#chipDefaults.ackMode;
    if (this.#baudChanged) {
      await this.#queue.link.setBaudRate?.(this.#chipDefaults.baudRate);
      this.#baudChanged = false;
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
