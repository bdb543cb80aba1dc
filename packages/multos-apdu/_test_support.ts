/**
 * Shared fixtures for this package's tests: the x509 test PKI's client key and certificate,
 * and a TrustCore wired to an in-process emulator.
 *
 * @module
 */

import { parseCertificate, parsePem } from "@anchortls/x509";
import { TrustCore, type TrustCoreOptions } from "./trust_core.ts";
import { TrustCoreEmulator, type TrustCoreEmulatorOptions } from "./emulator.ts";

const testdata = new URL("../x509/testdata/", import.meta.url);

export const PIN = "4711";

export async function clientPem(): Promise<{ keyPem: string; certificatePem: string }> {
  return {
    keyPem: await Deno.readTextFile(new URL("client.key", testdata)),
    certificatePem: await Deno.readTextFile(new URL("client.pem", testdata)),
  };
}

export async function clientCertificateDer(): Promise<Uint8Array> {
  return parsePem((await clientPem()).certificatePem)[0]!;
}

export async function clientPublicKey(): Promise<
  { modulus: Uint8Array; exponent: Uint8Array; spki: Uint8Array }
> {
  const key = parseCertificate(await clientCertificateDer()).publicKey;
  if (key.kind !== "rsa") throw new Error("client test key is not RSA");
  const hex = (n: bigint) => {
    const h = n.toString(16);
    return Uint8Array.fromHex(h.length % 2 ? "0" + h : h);
  };
  return { modulus: hex(key.modulus), exponent: hex(key.exponent), spki: key.spki };
}

export async function provisionedChip(
  options: Omit<TrustCoreEmulatorOptions, "deviceKey" | "deviceCertificate"> = {},
): Promise<TrustCoreEmulator> {
  return await TrustCoreEmulator.fromPem({ ...(await clientPem()), pin: PIN, ...options });
}

export function connect(chip: TrustCoreEmulator, options: TrustCoreOptions = {}): TrustCore {
  return new TrustCore({ transmit: (apdu) => Promise.resolve(chip.handle(apdu)) }, options);
}

export async function openSession(
  chip: TrustCoreEmulator,
  options: TrustCoreOptions = {},
): Promise<TrustCore> {
  const tc = connect(chip, options);
  await tc.select();
  await tc.verifyPin(PIN);
  return tc;
}

export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
