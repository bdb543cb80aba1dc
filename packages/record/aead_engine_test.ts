/**
 * Known answers for every built-in AEAD engine: the GCM specification's test cases 3, 4 and 16
 * (McGrew and Viega, the vectors NIST's GCM validation starts from: AES-128 without and with
 * additional data, AES-256 with it) and RFC 8439 §2.8.2 for ChaCha20-Poly1305; each engine must
 * seal to the published bytes, open them, and refuse them with a flipped tag bit.
 */

import assert from "node:assert/strict";
import { type AeadAlgorithm, type AeadEngineChoice, createAeadEngine } from "./aead_engine.ts";

const hex = (s: string) => Uint8Array.fromHex(s.replaceAll(/\s/g, ""));

const GCM_PLAINTEXT = `d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
  1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255`;
const GCM_AAD = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const GCM_KEY = "feffe9928665731c6d6a8f9467308308";

const VECTORS: {
  name: string;
  algorithm: AeadAlgorithm;
  key: string;
  nonce: string;
  aad: string;
  plaintext: Uint8Array;
  sealed: string;
}[] = [
  {
    name: "GCM test case 3 (AES-128, no AAD)",
    algorithm: "aes-gcm",
    key: GCM_KEY,
    nonce: "cafebabefacedbaddecaf888",
    aad: "",
    plaintext: hex(GCM_PLAINTEXT),
    sealed: `42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
      21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985
      4d5c2af327cd64a62cf35abd2ba6fab4`,
  },
  {
    name: "GCM test case 4 (AES-128, AAD, 60 bytes)",
    algorithm: "aes-gcm",
    key: GCM_KEY,
    nonce: "cafebabefacedbaddecaf888",
    aad: GCM_AAD,
    plaintext: hex(GCM_PLAINTEXT).subarray(0, 60),
    sealed: `42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
      21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091
      5bc94fbc3221a5db94fae95ae7121a47`,
  },
  {
    name: "GCM test case 16 (AES-256, AAD, 60 bytes)",
    algorithm: "aes-gcm",
    key: GCM_KEY + GCM_KEY,
    nonce: "cafebabefacedbaddecaf888",
    aad: GCM_AAD,
    plaintext: hex(GCM_PLAINTEXT).subarray(0, 60),
    sealed: `522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
      8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
      76fc6ece0f4e1768cddf8853bb2d551b`,
  },
  {
    name: "RFC 8439 §2.8.2 (ChaCha20-Poly1305)",
    algorithm: "chacha20-poly1305",
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "070000004041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    plaintext: new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    ),
    sealed: `d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
      3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
      92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
      3ff4def08e4b7a9de576d26586cec64b6116
      1ae10b594f09e26a7e902ecbd0600691`,
  },
];

const ENGINES: Readonly<Record<AeadAlgorithm, readonly AeadEngineChoice[]>> = {
  "aes-gcm": ["auto", "node", "noble", "webcrypto"],
  "aes-ccm": ["auto", "node", "noble"],
  "aes-ccm-8": ["auto", "node", "noble"],
  "chacha20-poly1305": ["auto", "node", "noble"],
};

for (const v of VECTORS) {
  for (const choice of ENGINES[v.algorithm]) {
    Deno.test(`AEAD engine ${choice}: ${v.name}`, async () => {
      const engine = createAeadEngine(v.algorithm, hex(v.key), choice);
      const nonce = hex(v.nonce);
      const aad = hex(v.aad);
      const sealed = await engine.seal(nonce, v.plaintext, aad);
      assert.equal(sealed.toHex(), hex(v.sealed).toHex());
      assert.deepEqual(await engine.open(nonce, hex(v.sealed), aad), v.plaintext);
      const forged = hex(v.sealed);
      forged[forged.length - 1]! ^= 1;
      assert.equal(await engine.open(nonce, forged, aad), null);
    });
  }
}
