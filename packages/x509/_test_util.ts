/**
 * Test helpers: fixture loading and a seeded PRNG.
 *
 * @module
 */

import { type Certificate, parseCertificate } from "./certificate.ts";
import { parsePem } from "./pem.ts";

/** Directory of the openssl-made test PKI. */
export const testdata: URL = new URL("./testdata/", import.meta.url);

/**
 * Reads a fixture's first certificate as DER.
 *
 * @param name File name in testdata.
 * @returns The DER.
 */
export function fixtureDer(name: string): Uint8Array {
  return parsePem(Deno.readTextFileSync(new URL(name, testdata)))[0]!;
}

/**
 * Parses a fixture's first certificate.
 *
 * @param name File name in testdata.
 * @returns The certificate.
 */
export function fixture(name: string): Certificate {
  return parseCertificate(fixtureDer(name));
}

/** Every certificate fixture file name. @returns Sorted names. */
export function fixtureNames(): string[] {
  return [...Deno.readDirSync(testdata)].map((e) => e.name).filter((n) =>
    n.endsWith(".pem") && n !== "chain.pem"
  ).sort();
}

/**
 * A small deterministic PRNG (mulberry32) so fuzz runs repeat exactly.
 *
 * @param seed The seed.
 * @returns A function giving integers in [0, n).
 */
export function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
  };
}
