/**
 * The sans-IO core of one command exchange: command chaining on the way out, GET RESPONSE for
 * `61XX` and resend-with-Le for `6CXX` on the way back. It owns no transport and no clock; a
 * driver sends what it returns and feeds back what the card answers.
 *
 * @module
 */

import { ApduError } from "./apdu_error.ts";
import { type ApduForm, type CommandApdu, commandHeader, encodeCommand } from "./command.ts";
import { decodeResponse, type ResponseApdu } from "./response.ts";
import { StatusWord } from "./status_word.ts";

/** Options for {@linkcode ApduExchange}. */
export interface ApduExchangeOptions {
  /** Wire encoding of every command sent. @default {"multos"} */
  form?: ApduForm;
  /**
   * Largest data field per command; longer data is sent as an ISO command chain (CLA bit
   * 0x10 on all but the last part). `undefined` sends the data in one command.
   * @default {undefined}
   */
  chunkSize?: number;
  /** Name used in errors. @default {the command header in hex} */
  name?: string;
  /** Most GET RESPONSE rounds before giving up, against a card that never finishes. @default {64} */
  maxRounds?: number;
}

/** What the driver does next: send `apdu`, or stop with `response`. */
export type ExchangeStep =
  | { readonly kind: "send"; readonly apdu: Uint8Array }
  | { readonly kind: "done"; readonly response: ResponseApdu };

const CHAIN_BIT = 0x10;
const INS_GET_RESPONSE = 0xc0;

/**
 * One command and everything needed to get its whole answer.
 *
 * Call {@linkcode ApduExchange.start} once, then {@linkcode ApduExchange.receive} with each
 * response until it returns `done`. The final response carries all data collected through GET
 * RESPONSE and the last status word; a failing status mid-chain ends the exchange with that
 * status.
 *
 * @example GET RESPONSE after 61XX
 * ```ts
 * import { ApduExchange } from "@anchortls/multos-apdu";
 * const ex = new ApduExchange({ cla: 0x00, ins: 0xb0, p1: 0, p2: 0, le: 2 }, { form: "short" });
 * ex.start().toHex(); // "00b0000002"
 * const step = ex.receive(Uint8Array.fromHex("6102"));
 * step.kind === "send" && step.apdu.toHex(); // "00c0000002"
 * const done = ex.receive(Uint8Array.fromHex("abcd9000"));
 * done.kind === "done" && done.response.data.toHex(); // "abcd"
 * ```
 */
export class ApduExchange {
  readonly #form: ApduForm;
  readonly #name: string;
  readonly #maxRounds: number;
  readonly #parts: CommandApdu[];
  #partIndex = 0;
  #current: CommandApdu;
  #collected: Uint8Array[] = [];
  #rounds = 0;
  #resent = false;
  #started = false;
  #finished = false;

  /**
   * Prepares an exchange; nothing is encoded until {@linkcode ApduExchange.start}.
   *
   * @param command The command to run.
   * @param options Encoding, chaining and limits.
   * @throws {ApduError} When `chunkSize` is not a positive integer.
   */
  constructor(command: CommandApdu, options: ApduExchangeOptions = {}) {
    this.#form = options.form ?? "multos";
    this.#name = options.name ?? commandHeader(command);
    this.#maxRounds = options.maxRounds ?? 64;
    const chunk = options.chunkSize;
    if (chunk !== undefined && (!Number.isInteger(chunk) || chunk < 1)) {
      throw new ApduError(undefined, this.#name, { detail: `chunk size ${chunk} is not positive` });
    }
    this.#parts = chunk === undefined ? [command] : splitChain(command, chunk);
    this.#current = this.#parts[0]!;
  }

  /** Number of command APDUs the chain needs before any GET RESPONSE. */
  get chainLength(): number {
    return this.#parts.length;
  }

  /**
   * Returns the first APDU to send.
   *
   * @returns The encoded first command (or first chain part).
   * @throws {ApduError} When called twice, or when a length does not fit the form.
   */
  start(): Uint8Array {
    if (this.#started) throw new ApduError(undefined, this.#name, { detail: "already started" });
    this.#started = true;
    return encodeCommand(this.#current, this.#form);
  }

  /**
   * Feeds the card's answer to the last APDU sent.
   *
   * @param bytes Response data ‖ SW1 SW2.
   * @returns The next APDU to send, or the final response.
   * @throws {ApduError} On a malformed response, a response before `start`, after `done`, or
   * more GET RESPONSE rounds than allowed.
   */
  receive(bytes: Uint8Array): ExchangeStep {
    if (!this.#started || this.#finished) {
      throw new ApduError(undefined, this.#name, { detail: "response outside an exchange" });
    }
    const response = decodeResponse(bytes, this.#name);
    const lastPart = this.#partIndex === this.#parts.length - 1;
    if (!lastPart) {
      if (response.sw !== StatusWord.ok) return this.#finish(response);
      this.#partIndex++;
      this.#current = this.#parts[this.#partIndex]!;
      return this.#send(this.#current);
    }
    const next = followUp(this.#current, response);
    if (next?.ins === INS_GET_RESPONSE && response.sw >> 8 === 0x61) {
      this.#collected.push(response.data);
      if (++this.#rounds > this.#maxRounds) {
        throw new ApduError(response.sw, this.#name, {
          detail: `more than ${this.#maxRounds} GET RESPONSE rounds`,
        });
      }
      return this.#send(next);
    }
    if (next && !this.#resent) {
      this.#resent = true;
      this.#current = next;
      return this.#send(next);
    }
    this.#collected.push(response.data);
    return this.#finish({ data: joined(this.#collected), sw: response.sw });
  }

  #send(command: CommandApdu): ExchangeStep {
    return { kind: "send", apdu: encodeCommand(command, this.#form) };
  }

  #finish(response: ResponseApdu): ExchangeStep {
    this.#finished = true;
    return { kind: "done", response };
  }
}

/**
 * What to send after a response, ISO 7816-4 §5.3: GET RESPONSE for `61XX` (XX more bytes,
 * 00 meaning 256) and the same command with Le = XX for `6CXX`. A pure function; the state
 * that chains several rounds is in {@linkcode ApduExchange}.
 *
 * @example Wrong Le
 * ```ts
 * import { followUp } from "@anchortls/multos-apdu";
 * const next = followUp({ cla: 0x80, ins: 0x84, p1: 0, p2: 0, le: 16 }, { data: new Uint8Array(0), sw: 0x6c08 });
 * next?.le; // 8
 * ```
 *
 * @param command The command the response answers.
 * @param response Its response.
 * @returns The next command, or `undefined` when the response is final.
 */
export function followUp(command: CommandApdu, response: ResponseApdu): CommandApdu | undefined {
  const sw1 = response.sw >> 8;
  const count = (response.sw & 0xff) || 256;
  if (sw1 === 0x61) {
    // GET RESPONSE keeps the logical channel bits of the command's class byte.
    return { cla: command.cla & 0x03, ins: INS_GET_RESPONSE, p1: 0, p2: 0, le: count };
  }
  if (sw1 === 0x6c) return { ...command, le: count };
  return undefined;
}

function splitChain(command: CommandApdu, chunkSize: number): CommandApdu[] {
  const data = command.data ?? new Uint8Array(0);
  if (data.length <= chunkSize) return [command];
  const parts: CommandApdu[] = [];
  for (let at = 0; at < data.length; at += chunkSize) {
    const last = at + chunkSize >= data.length;
    const part: CommandApdu = {
      cla: last ? command.cla : command.cla | CHAIN_BIT,
      ins: command.ins,
      p1: command.p1,
      p2: command.p2,
      data: data.subarray(at, at + chunkSize),
    };
    parts.push(last && command.le !== undefined ? { ...part, le: command.le } : part);
  }
  return parts;
}

function joined(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
