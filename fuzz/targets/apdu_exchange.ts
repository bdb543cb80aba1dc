/**
 * Exchange target: `ApduExchange` (chaining, GET RESPONSE after 61XX, resend after 6CXX)
 * driven by scripted card answers. Input: one options byte, then command-mode TLV frames: the
 * command APDU (multos form), then the card's answers in order (see `fuzz/README.md`).
 * Oracles: every APDU sent decodes in its form, the chain carries exactly the command's data,
 * and the exchange ends within chain length + GET RESPONSE rounds + 2 answers.
 *
 * @module
 */

import {
  ApduError,
  ApduExchange,
  type ApduForm,
  type CommandApdu,
  decodeCommand,
} from "@anchortls/multos-apdu";
import { TlvDecoder } from "@anchortls/transport-serial";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

const FORMS: readonly ApduForm[] = ["short", "extended", "multos", "auto"];
const CHUNK_SIZES = [undefined, 1, 2, 3, 4, 8, 16, 32, 64, 128, 200, 255, 256, 1000, 2992, 3000];
const MAX_ROUNDS = [64, 0, 1, 4];

/** Splits the frames of `bytes`; a framing error ends the list. */
function frames(bytes: Uint8Array): Uint8Array[] {
  const decoder = new TlvDecoder();
  decoder.push(bytes);
  const out: Uint8Array[] = [];
  for (let r = decoder.next(); r.kind === "frame"; r = decoder.next()) out.push(r.frame.value);
  return out;
}

/** Encodes the options byte: the inverse of what {@linkcode target.run} reads. */
export function exchangeOptionsByte(form: ApduForm, chunkSize?: number, maxRounds = 64): number {
  return FORMS.indexOf(form) | CHUNK_SIZES.indexOf(chunkSize) << 2 |
    MAX_ROUNDS.indexOf(maxRounds) << 6;
}

const target: FuzzTarget = {
  name: "apdu_exchange",
  corpus: "apdu_exchange",
  maxInputLength: 12000,
  run(input) {
    if (input.length === 0) return "empty";
    const options = input[0]!;
    const form = FORMS[options & 3]!;
    const chunkSize = CHUNK_SIZES[options >> 2 & 15];
    const maxRounds = MAX_ROUNDS[options >> 6]!;
    const [commandBytes, ...answers] = frames(input.subarray(1));
    if (!commandBytes) return "no command frame";
    const command: CommandApdu = decodeCommand(commandBytes, "multos");
    const exchange = new ApduExchange(command, {
      form,
      maxRounds,
      ...(chunkSize === undefined ? {} : { chunkSize }),
    });
    const sent = [exchange.start()];
    const bound = exchange.chainLength + maxRounds + 2;
    for (const [i, answer] of answers.entries()) {
      check(i < bound, `exchange still asking after ${i} answers`);
      const step = exchange.receive(answer);
      if (step.kind === "done") {
        checkChain(sent, command, form, exchange.chainLength);
        return `done after ${Math.min(i + 1, 4)} answers, sw1 ${
          (step.response.sw >> 8).toString(16)
        }`;
      }
      sent.push(step.apdu);
    }
    checkChain(sent, command, form, exchange.chainLength);
    return `starved after ${Math.min(answers.length, 4)} answers`;
  },
  expected: (error) => error instanceof ApduError,
};

/** Every APDU decodes in the form; a completed chain carries exactly the command's data. */
function checkChain(sent: Uint8Array[], command: CommandApdu, form: ApduForm, parts: number): void {
  const decoded = sent.map((apdu) => decodeCommand(apdu, form));
  if (decoded.length < parts) return;
  const data = decoded.slice(0, parts).flatMap((c) => [...(c.data ?? [])]);
  check(sameBytes(Uint8Array.from(data), command.data ?? new Uint8Array(0)), "chain lost data");
}

export default target;
