/**
 * Command APDU target: `decodeCommand` in each form (short, extended, auto, multos). Oracle:
 * an accepted input re-encodes to exactly the same bytes (under `auto`, as short or extended);
 * refusals are `ApduError`s that show no command data.
 *
 * @module
 */

import {
  ApduError,
  type ApduForm,
  type CommandApdu,
  decodeCommand,
  encodeCommand,
} from "@anchortls/multos-apdu";
import { check, type FuzzTarget } from "../target.ts";

const forms: ApduForm[] = ["short", "extended", "auto", "multos"];

function encodings(command: CommandApdu, form: ApduForm): string[] {
  const out: string[] = [];
  for (const f of form === "auto" ? ["short", "extended"] as const : [form]) {
    try {
      out.push(encodeCommand(command, f).toHex());
    } catch (error) {
      if (!(error instanceof ApduError)) throw error;
    }
  }
  return out;
}

const target: FuzzTarget = {
  name: "command_apdu",
  corpus: "command_apdu",
  maxInputLength: 70000,
  run(input) {
    const accepted: string[] = [];
    for (const form of forms) {
      let command: CommandApdu;
      try {
        command = decodeCommand(input, form);
      } catch (error) {
        if (!(error instanceof ApduError)) throw error;
        if (input.length >= 8) {
          check(!error.message.includes(input.subarray(4).toHex()), "error shows command data");
        }
        continue;
      }
      check(encodings(command, form).includes(input.toHex()), `${form} decode does not re-encode`);
      accepted.push(`${form}:${command.data ? "data" : ""}${command.le ? "le" : ""}`);
    }
    return accepted.join(" ") || "refused by every form";
  },
  expected: (error) => error instanceof ApduError,
};

export default target;
