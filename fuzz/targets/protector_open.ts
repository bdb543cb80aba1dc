/**
 * Record protection target: `CbcHmacProtector.open` on arbitrary fragments, with fixed keys.
 * The first byte picks the suite (bits 0–1), Encrypt-then-MAC (bit 2) and the content type
 * (bits 3–4: 20–23); the rest is the fragment. Oracles: the only refusals are `bad_record_mac`
 * and `decode_error` alerts; an accepted fragment re-seals with its own IV to the same bytes
 * when its padding was minimal, and its content is at most 2^14 bytes.
 *
 * @module
 */

import {
  AlertDescription,
  type CbcCipherSuite,
  CbcHmacProtector,
  CipherSuites,
  type RecordContext,
  TlsAlertError,
} from "@anchortls/record";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

const suites: readonly CbcCipherSuite[] = [
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA,
  CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
  CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256,
];

/** A synchronous engine's answer (the default `auto` engine is synchronous). */
function sync(value: Uint8Array | Promise<Uint8Array>): Uint8Array {
  if (value instanceof Promise) throw new TypeError("the auto CBC engine answered asynchronously");
  return value;
}

/**
 * Fixed, public fuzzing keys: the point is to reach the MAC and padding checks. The default
 * engine, so fragments of 1 KiB and more go through node:crypto's AES, shorter ones noble's.
 */
function protector(
  suite: CbcCipherSuite,
  encryptThenMac: boolean,
  random?: (n: number) => Uint8Array,
): {
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array;
  open(context: RecordContext, fragment: Uint8Array): Uint8Array;
} {
  const p = new CbcHmacProtector({
    suite,
    encryptThenMac,
    encKey: new Uint8Array(suite.encKeyLength).fill(0x4b),
    macKey: new Uint8Array(suite.macKeyLength).fill(0x6d),
    ...(random ? { random } : {}),
  });
  return {
    seal: (context, plaintext) => sync(p.seal(context, plaintext)),
    open: (context, fragment) => sync(p.open(context, fragment)),
  };
}

const protectors = suites.flatMap((suite) => [protector(suite, false), protector(suite, true)]);

interface Choice {
  readonly suite: CbcCipherSuite;
  readonly encryptThenMac: boolean;
  readonly context: RecordContext;
}

function choose(options: number): Choice {
  return {
    suite: suites[options & 3]!,
    encryptThenMac: (options & 4) !== 0,
    context: { type: 20 + ((options >> 3) & 3), version: 0x0303, sequence: 1n },
  };
}

/**
 * The options byte for a suite, mode and content type.
 *
 * @param suiteId The suite's code point.
 * @param encryptThenMac Whether Encrypt-then-MAC is on.
 * @param type Content type, 20–23.
 * @returns The byte, or -1 for a suite the target does not cover.
 */
export function protectorOptionsByte(
  suiteId: number,
  encryptThenMac: boolean,
  type: number,
): number {
  const index = suites.findIndex((s) => s.id === suiteId);
  if (index < 0 || type < 20 || type > 23) return -1;
  return index | (encryptThenMac ? 4 : 0) | ((type - 20) << 3);
}

/**
 * A seed input sealed with the target's keys, so mutations start from fragments that open.
 *
 * @param options The options byte.
 * @param plaintext The content to seal.
 * @param iv The explicit IV (16 bytes).
 * @returns The options byte followed by the sealed fragment.
 */
export function sealedInput(options: number, plaintext: Uint8Array, iv: Uint8Array): Uint8Array {
  const { suite, encryptThenMac, context } = choose(options);
  const fragment = protector(suite, encryptThenMac, () => iv.slice()).seal(context, plaintext);
  return Uint8Array.of(options, ...fragment);
}

const target: FuzzTarget = {
  name: "protector_open",
  corpus: "protector_open",
  maxInputLength: 17_000,
  run(input) {
    if (input.length === 0) return "empty";
    const choice = choose(input[0]!);
    const fragment = input.subarray(1);
    const index = (input[0]! & 3) * 2 + (choice.encryptThenMac ? 1 : 0);
    const opened = protectors[index]!.open(choice.context, fragment);
    check(opened.length <= 1 << 14, "opened more than 2^14 bytes");
    const again = protector(choice.suite, choice.encryptThenMac, () => fragment.slice(0, 16))
      .seal(choice.context, opened);
    check(
      again.length !== fragment.length || sameBytes(again, fragment),
      "an accepted fragment does not re-seal to itself",
    );
    return `opened ${choice.suite.name} etm ${choice.encryptThenMac} ${Math.min(opened.length, 2)}`;
  },
  expected: (error) =>
    error instanceof TlsAlertError &&
    (error.description === AlertDescription.bad_record_mac ||
      error.description === AlertDescription.decode_error),
};

export default target;
