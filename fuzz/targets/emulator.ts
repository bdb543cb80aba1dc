/**
 * Emulator target: the Trust Core emulator's APDU parsing and handling. Input: the bytes a
 * host sends in command mode (TLV frames, as captured from real sessions); every Command APDU
 * frame goes to a fresh chip's `handle`. Oracles: every answer is a response with a real
 * status word (never `6F00`, which the emulator sends when its own code throws) that fits the
 * chip's 3000-byte buffer.
 *
 * @module
 */

import {
  CHIP_BUFFER_SIZE,
  decodeResponse,
  type RsaPrivateNumbers,
  TrustCoreEmulator,
} from "@anchortls/multos-apdu";
import { TlvDecoder } from "@anchortls/transport-serial";
import { parsePem } from "@anchortls/x509";
import { SeededRandom } from "../random.ts";
import { check, type FuzzTarget } from "../target.ts";

const testdata = new URL("../../packages/x509/testdata/", import.meta.url);
const certificate = parsePem(await Deno.readTextFile(new URL("client.pem", testdata)))[0]!;
const deviceKey = await rsaNumbers(await Deno.readTextFile(new URL("client.key", testdata)));

/** The test PKI's client key as numbers, so each input's chip gets it without a PEM import. */
async function rsaNumbers(pem: string): Promise<RsaPrivateNumbers> {
  const der = Uint8Array.fromBase64(pem.replace(/-----[^-]+-----|\s/g, ""));
  const key = await crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    true,
    ["sign"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const big = (field: string | undefined): bigint =>
    BigInt("0x" + Uint8Array.fromBase64(field!, { alphabet: "base64url" }).toHex());
  return {
    n: big(jwk.n),
    e: big(jwk.e),
    d: big(jwk.d),
    p: big(jwk.p),
    q: big(jwk.q),
    dp: big(jwk.dp),
    dq: big(jwk.dq),
    qi: big(jwk.qi),
  };
}

const target: FuzzTarget = {
  name: "emulator",
  corpus: "emulator",
  maxInputLength: 40000,
  run(input) {
    const random = new SeededRandom(input.length);
    const chip = new TrustCoreEmulator({
      pin: "4711",
      deviceKey,
      deviceCertificate: certificate,
      random: (n) => random.bytes(n),
    });
    const decoder = new TlvDecoder();
    decoder.push(input);
    let last = "no APDU";
    for (let r = decoder.next(); r.kind === "frame"; r = decoder.next()) {
      if (r.frame.tag !== 0x80) continue;
      const response = chip.handle(r.frame.value);
      const { sw } = decodeResponse(response);
      check(sw !== 0x6f00, `internal error on ${r.frame.value.subarray(0, 4).toHex()}`);
      check(response.length <= CHIP_BUFFER_SIZE, `${response.length}-byte answer over the buffer`);
      last = `${r.frame.value[1]?.toString(16)} ${sw.toString(16)}`;
    }
    // The instruction and status of the last command: a new pair is a new path in the applet.
    return last;
  },
  expected: () => false,
};

export default target;
