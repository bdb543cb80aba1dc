/**
 * The sans-IO core of one host-side exchange in serial command mode: it is fed the bytes that
 * arrive after a message was sent (and told when its deadline passed) and says when the
 * exchange is complete, and how it failed.
 *
 * It owns no link and no clock; {@linkcode CommandModeTransport} drives it.
 *
 * @module
 */

import type { LinkErrorKind } from "./link_error.ts";
import { isResponseTag, MessageTag } from "./messages.ts";
import { TlvDecoder } from "./tlv.ts";

/** What the host waits for after sending a message. */
export type ExchangeExpectation = "response" | "ack";

/** Options for {@linkcode CommandExchange}. */
export interface CommandExchangeOptions {
  /** `response` for a Command APDU, `ack` for Reset and Comms Parameters. */
  expect: ExchangeExpectation;
  /** Whether the chip sends an ACK before its response. */
  ackMode: boolean;
  /** Longest response value accepted before the frame is declared broken. */
  maxValueLength: number;
}

/** The state of an exchange after an input. */
export type ExchangeStep =
  | { readonly kind: "pending" }
  | { readonly kind: "done"; readonly value: Uint8Array }
  | {
    readonly kind: "failed";
    /** The {@linkcode LinkError} kind the driver should raise. */
    readonly failure: LinkErrorKind;
    /** What went wrong. */
    readonly reason: string;
    /** True when the chip's state is unknown and the driver must reset it. */
    readonly needsReset: boolean;
  };

const pending: ExchangeStep = { kind: "pending" };

/**
 * One exchange: expects an optional ACK, then a response TLV (tag 0x40–0xBF, value ≥ 2 bytes)
 * with nothing after it, or just an ACK.
 *
 * Anything else is a failure: a NACK (the chip is in a known state, no reset needed), or a
 * framing fault or timeout (the chip's state is unknown, the driver must reset it). A response
 * followed by more bytes is refused, because without a checksum a corrupted length is only
 * visible as leftover bytes.
 *
 * @example Feeding an ACK and a response
 * ```ts
 * import { CommandExchange } from "@anchortls/transport-serial";
 * const exchange = new CommandExchange({
 *   expect: "response", ackMode: true, maxValueLength: 3072,
 * });
 * exchange.receive(Uint8Array.fromHex("01800002")); // { kind: "pending" }
 * exchange.receive(Uint8Array.fromHex("9000")); // { kind: "done", value: Uint8Array [0x90, 0] }
 * ```
 */
export class CommandExchange {
  readonly #options: CommandExchangeOptions;
  readonly #decoder: TlvDecoder;
  #acked = false;
  #result: ExchangeStep = pending;

  /**
   * Starts an exchange right after its message was written.
   *
   * @param options What to expect.
   */
  constructor(options: CommandExchangeOptions) {
    this.#options = options;
    this.#decoder = new TlvDecoder({ maxValueLength: options.maxValueLength });
  }

  /** True once an ACK arrived. */
  get acknowledged(): boolean {
    return this.#acked;
  }

  /**
   * Feeds bytes that arrived from the chip.
   *
   * @param bytes The bytes.
   * @returns The exchange state; once not `pending` it stays the same.
   */
  receive(bytes: Uint8Array): ExchangeStep {
    if (this.#result.kind !== "pending") return this.#result;
    this.#decoder.push(bytes);
    for (;;) {
      const next = this.#decoder.next();
      if (next.kind === "needMore") return pending;
      if (next.kind === "error") return this.#fail("framing", next.reason, true);
      const { tag, value } = next.frame;
      if (tag === MessageTag.nack) return this.#fail("nack", "chip sent NACK", false);
      const wantsAck = this.#options.expect === "ack" || (this.#options.ackMode && !this.#acked);
      if (wantsAck) {
        if (tag !== MessageTag.ack) {
          return this.#fail("framing", `expected ACK, got tag 0x${tag.toString(16)}`, true);
        }
        this.#acked = true;
        if (this.#options.expect === "ack") return this.#finish(value);
        continue;
      }
      if (!isResponseTag(tag)) {
        return this.#fail("framing", `expected a response, got tag 0x${tag.toString(16)}`, true);
      }
      if (value.length < 2) {
        return this.#fail("framing", `response of ${value.length} bytes has no status word`, true);
      }
      return this.#finish(value);
    }
  }

  /**
   * Reports that the deadline passed.
   *
   * @returns The failure: a torn frame when part of a message is buffered, else a timeout.
   */
  timeout(): ExchangeStep {
    if (this.#result.kind !== "pending") return this.#result;
    const partial = this.#decoder.buffered;
    if (partial > 0) {
      return this.#fail("framing", `torn frame: ${partial} bytes of an unfinished message`, true);
    }
    const what = this.#acked ? "chip acknowledged but did not answer" : "no answer from chip";
    return this.#fail("timeout", what, true);
  }

  #finish(value: Uint8Array): ExchangeStep {
    const trailing = this.#decoder.buffered;
    if (trailing > 0) {
      return this.#fail("framing", `${trailing} unexpected bytes after the message`, true);
    }
    this.#result = { kind: "done", value };
    return this.#result;
  }

  #fail(failure: LinkErrorKind, reason: string, needsReset: boolean): ExchangeStep {
    this.#result = { kind: "failed", failure, reason, needsReset };
    return this.#result;
  }
}
