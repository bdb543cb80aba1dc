/**
 * Trust Core command codec target: each command's `decode` in `_commands.ts`, the one parser the
 * emulator uses, on any command-mode APDU. Oracles: a decoder either refuses with a
 * `CommandFormatError` carrying a 6xxx status word, or returns parameters whose `encode`
 * gives back a command with the same header and data.
 *
 * @module
 */

import { type CommandApdu, decodeCommand, encodeCommand } from "@anchortls/multos-apdu";
import {
  CommandFormatError,
  CreateFile,
  DeleteFile,
  GenerateKeyBlock,
  GenerateMasterSecret,
  GeneratePremaster,
  LoadUntrustedEcKey,
  LoadUntrustedRsaKey,
  MseSet,
  Pso,
  SelectFile,
  UpdateBinary,
  VerifyPin,
} from "../../packages/multos-apdu/_commands.ts";
import { check, type FuzzTarget } from "../target.ts";

/** Decoders whose parameters say everything the command carried, so encode must restore it. */
const ROUND_TRIPS: readonly [string, (c: CommandApdu) => CommandApdu][] = [
  ["VERIFY", (c) => VerifyPin.encode(VerifyPin.decode(c))],
  ["MSE SET", (c) => MseSet.encode(MseSet.decode(c) as Parameters<typeof MseSet.encode>[0])],
  ["PSO", (c) => Pso.encode(Pso.decode(c))],
  ["PREMASTER", (c) => GeneratePremaster.encode(GeneratePremaster.decode(c))],
  ["MASTER", (c) => GenerateMasterSecret.encode(GenerateMasterSecret.decode(c))],
  ["KEY BLOCK", (c) => GenerateKeyBlock.encode(GenerateKeyBlock.decode(c))],
  ["RSA KEY", (c) => LoadUntrustedRsaKey.encode(LoadUntrustedRsaKey.decode(c))],
  ["EC KEY", (c) => LoadUntrustedEcKey.encode(LoadUntrustedEcKey.decode(c))],
  ["SELECT EF", (c) => SelectFile.encode(SelectFile.decode(c))],
  ["UPDATE", (c) => UpdateBinary.encode(UpdateBinary.decode(c))],
  ["CREATE", (c) => CreateFile.encode(CreateFile.decode(c))],
  ["DELETE", (c) => DeleteFile.encode(DeleteFile.decode(c))],
];

const target: FuzzTarget = {
  name: "trust_core_commands",
  corpus: "command_apdu",
  maxInputLength: 4000,
  run(input) {
    let command: CommandApdu;
    try {
      command = decodeCommand(input, "multos");
    } catch {
      return "not a command";
    }
    const accepted: string[] = [];
    for (const [name, roundTrip] of ROUND_TRIPS) {
      let again: CommandApdu;
      try {
        again = roundTrip(command);
      } catch (error) {
        if (!(error instanceof CommandFormatError)) throw error;
        check((error.sw & 0xf000) === 0x6000, `${name}: status ${error.sw.toString(16)}`);
        continue;
      }
      // The header bytes a decoder does not read (CLA, INS, or a P1/P2 it ignores) are the
      // encoder's own; the data it read must come back byte for byte.
      const data = (c: CommandApdu) => (c.data ?? new Uint8Array(0)).toHex();
      if (name !== "MSE SET" || command.data !== undefined) {
        check(data(again) === data(command), `${name}: data changed in the round trip`);
      }
      check(encodeCommand(again, "multos").length > 4, `${name}: no encoding`);
      accepted.push(name);
    }
    return accepted.join(",") || "refused";
  },
  expected: () => false,
};

export default target;
