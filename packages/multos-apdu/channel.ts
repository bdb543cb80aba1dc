/**
 * The thin I/O shell around {@linkcode ApduExchange}: sends each APDU through a transport and
 * feeds the answers back until the exchange is done.
 *
 * @module
 */

import type { ApduTransport } from "@anchortls/transport-serial";
import { ApduError } from "./apdu_error.ts";
import type { ApduForm, CommandApdu } from "./command.ts";
import { commandHeader } from "./command.ts";
import { ApduExchange } from "./exchange.ts";
import type { ResponseApdu } from "./response.ts";
import { StatusWord } from "./status_word.ts";

/**
 * What a channel needs of a transport: the `transmit` half of `@anchortls/transport-serial`'s
 * `ApduTransport` (and its `resets` counter, when it has one), so an in-process emulator can
 * stand in without a `close`.
 */
export type ApduTransmitter = Pick<ApduTransport, "transmit" | "resets">;

/** Options for {@linkcode ApduChannel}. */
export interface ApduChannelOptions {
  /** Wire encoding. @default {"multos"} */
  form?: ApduForm;
}

/** Options for one {@linkcode ApduChannel.transmit} call. */
export interface ChannelTransmitOptions {
  /** Name for errors. @default {the command header} */
  name?: string;
  /** Chain data longer than this many bytes (CLA bit 0x10). @default {no chaining} */
  chunkSize?: number;
  /** Timeout passed to the transport for each APDU. */
  timeoutMs?: number;
}

/** Counters of what crossed the link, for benchmarks and tests. */
export interface ChannelStats {
  /** Command APDUs sent, GET RESPONSE and chain parts included. */
  apdus: number;
  /** Bytes of command APDUs sent. */
  bytesSent: number;
  /** Bytes of responses received. */
  bytesReceived: number;
}

/**
 * Runs commands over a transport, handling chaining, 61XX and 6CXX.
 *
 * @example Over a transport that answers every command with two bytes and 9000
 * ```ts
 * import { ApduChannel } from "@anchortls/multos-apdu";
 * const channel = new ApduChannel({ transmit: () => Promise.resolve(Uint8Array.fromHex("01029000")) });
 * const version = await channel.transmitOk({ cla: 0x80, ins: 0x88, p1: 0, p2: 0, le: 2 });
 * version.length; // 2
 * ```
 */
export class ApduChannel {
  readonly #transport: ApduTransmitter;
  readonly #form: ApduForm;
  readonly #stats: ChannelStats = { apdus: 0, bytesSent: 0, bytesReceived: 0 };

  /**
   * Creates a channel.
   *
   * @param transport Carries single APDUs.
   * @param options Encoding.
   */
  constructor(transport: ApduTransmitter, options: ApduChannelOptions = {}) {
    this.#transport = transport;
    this.#form = options.form ?? "multos";
  }

  /** A snapshot of the link counters. */
  get stats(): ChannelStats {
    return { ...this.#stats };
  }

  /**
   * Runs one command to completion and returns its final response, whatever the status.
   *
   * @param command The command.
   * @param options Name, chaining and timeout.
   * @returns The collected data and the last status word.
   * @throws {ApduError} On encoding errors and malformed responses; transport errors pass
   * through unchanged.
   */
  async transmit(
    command: CommandApdu,
    options: ChannelTransmitOptions = {},
  ): Promise<ResponseApdu> {
    const name = options.name ?? commandHeader(command);
    const exchange = new ApduExchange(command, {
      form: this.#form,
      name,
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
    });
    const perApdu = options.timeoutMs === undefined ? undefined : { timeoutMs: options.timeoutMs };
    let apdu = exchange.start();
    for (;;) {
      this.#stats.apdus++;
      this.#stats.bytesSent += apdu.length;
      const answer = await this.#transport.transmit(apdu, perApdu);
      this.#stats.bytesReceived += answer.length;
      const step = exchange.receive(answer);
      if (step.kind === "done") return step.response;
      apdu = step.apdu;
    }
  }

  /**
   * Runs one command and insists on `9000`.
   *
   * @param command The command.
   * @param options Name, chaining and timeout.
   * @returns The response data.
   * @throws {ApduError} When the final status word is not `9000`.
   */
  async transmitOk(
    command: CommandApdu,
    options: ChannelTransmitOptions = {},
  ): Promise<Uint8Array> {
    const response = await this.transmit(command, options);
    if (response.sw !== StatusWord.ok) {
      throw new ApduError(response.sw, options.name ?? commandHeader(command));
    }
    return response.data;
  }
}
