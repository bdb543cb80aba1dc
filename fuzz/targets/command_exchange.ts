/**
 * Host exchange target: `CommandExchange`, the sans-IO core that reads the chip's ACK and
 * response. Input: one options byte (bit 0: expect an ACK only; bit 1: ACK mode; bits 2–3:
 * response cap), then the bytes from the chip. Oracles: it never throws, a timeout always
 * ends it, finished states stick, failures carry the right reset flag, and an answer taken
 * whole is also taken when fed byte by byte.
 *
 * @module
 */

import { CommandExchange, type ExchangeStep } from "@anchortls/transport-serial";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

const CAPS = [3072, 2, 64, 0xffff];

function feed(exchange: CommandExchange, chunks: Iterable<Uint8Array>): ExchangeStep {
  let step: ExchangeStep = { kind: "pending" };
  for (const chunk of chunks) step = exchange.receive(chunk);
  return step.kind === "pending" ? exchange.timeout() : step;
}

function* bytewise(input: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < input.length; i++) yield input.subarray(i, i + 1);
}

const target: FuzzTarget = {
  name: "command_exchange",
  corpus: "command_exchange",
  run(input) {
    const options = input[0] ?? 0;
    const settings = {
      expect: options & 1 ? "ack" as const : "response" as const,
      ackMode: (options & 2) !== 0,
      maxValueLength: CAPS[options >> 2 & 3]!,
    };
    const bytes = input.subarray(1);
    const whole = new CommandExchange(settings);
    const wholeStep = feed(whole, [bytes]);
    const split = feed(new CommandExchange(settings), bytewise(bytes));
    check(wholeStep.kind !== "pending", "a timeout left the exchange pending");
    check(whole.receive(Uint8Array.of(1)) === wholeStep, "a finished exchange changed");
    check(whole.timeout() === wholeStep, "a finished exchange changed on timeout");
    if (wholeStep.kind === "failed") {
      check(wholeStep.needsReset === (wholeStep.failure !== "nack"), "wrong reset flag");
      return `failed ${wholeStep.failure} ${wholeStep.reason.replace(/[0-9a-f]+/g, "#")}`;
    }
    check(split.kind === "done", "taken whole but not byte by byte");
    check(sameBytes(split.value, wholeStep.value), "byte-by-byte answer differs");
    if (settings.expect === "response") {
      check(wholeStep.value.length >= 2, "response without a status word");
      check(wholeStep.value.length <= settings.maxValueLength, "response over the cap");
    }
    return `done ${settings.expect}`;
  },
  expected: () => false,
};

export default target;
