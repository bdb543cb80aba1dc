/**
 * APDUs for the MULTOS Trust Anchor: the ISO/IEC 7816-4 and command-mode codecs, a sans-IO
 * exchange core (chaining, GET RESPONSE, resend with Le) and its channel shell.
 *
 * @module
 */

export * from "./apdu_error.ts";
export * from "./channel.ts";
export * from "./command.ts";
export * from "./exchange.ts";
export * from "./response.ts";
export * from "./status_word.ts";
export * from "./trust_core.ts";
export * from "./trust_core_constants.ts";
export * from "./emulator.ts";
