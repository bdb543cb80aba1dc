import assert from "node:assert/strict";
import { AesCcm, nobleCcmBlockModes, nodeCcmBlockModes } from "./aes_ccm.ts";

const BLOCK_MODES = { noble: nobleCcmBlockModes, node: nodeCcmBlockModes };

const hex = (s: string) => Uint8Array.fromHex(s.replaceAll(" ", ""));

// NIST SP 800-38C Appendix C (examples 1–3) and RFC 3610 §8 packet vector #1.
const VECTORS = [
  {
    name: "SP 800-38C C.1",
    key: "404142434445464748494a4b4c4d4e4f",
    nonce: "10111213141516",
    aad: "0001020304050607",
    plaintext: "20212223",
    tag: 4,
    sealed: "7162015b 4dac255d",
  },
  {
    name: "SP 800-38C C.2",
    key: "404142434445464748494a4b4c4d4e4f",
    nonce: "1011121314151617",
    aad: "000102030405060708090a0b0c0d0e0f",
    plaintext: "202122232425262728292a2b2c2d2e2f",
    tag: 6,
    sealed: "d2a1f0e051ea5f62081a7792073d593d 1fc64fbfaccd",
  },
  {
    name: "SP 800-38C C.3",
    key: "404142434445464748494a4b4c4d4e4f",
    nonce: "101112131415161718191a1b",
    aad: "000102030405060708090a0b0c0d0e0f10111213",
    plaintext: "202122232425262728292a2b2c2d2e2f3031323334353637",
    tag: 8,
    sealed: "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5 484392fbc1b09951",
  },
  {
    name: "RFC 3610 packet vector #1",
    key: "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
    nonce: "00000003020100a0a1a2a3a4a5",
    aad: "0001020304050607",
    plaintext: "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
    tag: 8,
    sealed: "588c979a61c663d2f066d0c2c0f989806d5f6b61dac384 17e8d12cfdf926e0",
  },
];

for (const [modes, make] of Object.entries(BLOCK_MODES)) {
  for (const v of VECTORS) {
    Deno.test(`AesCcm on ${modes}'s AES: ${v.name}`, () => {
      const ccm = new AesCcm(hex(v.key), v.tag, make(hex(v.key)));
      assert.equal(
        ccm.seal(hex(v.nonce), hex(v.plaintext), hex(v.aad)).toHex(),
        hex(v.sealed).toHex(),
      );
      assert.equal(ccm.open(hex(v.nonce), hex(v.sealed), hex(v.aad))?.toHex(), v.plaintext);
    });
  }
}

Deno.test("AesCcm: any changed bit of ciphertext, tag, nonce or AAD fails to open", () => {
  const v = VECTORS[2]!;
  const ccm = new AesCcm(hex(v.key), v.tag);
  const sealed = hex(v.sealed);
  for (let bit = 0; bit < sealed.length * 8; bit++) {
    const bad = sealed.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(ccm.open(hex(v.nonce), bad, hex(v.aad)), null, `bit ${bit}`);
  }
  const nonce = hex(v.nonce);
  nonce[0]! ^= 1;
  assert.equal(ccm.open(nonce, sealed, hex(v.aad)), null);
  assert.equal(ccm.open(hex(v.nonce), sealed, hex(v.aad).subarray(1)), null);
  assert.equal(ccm.open(hex(v.nonce), sealed.subarray(0, v.tag - 1), hex(v.aad)), null);
});

Deno.test("AesCcm: round trips at every length around block edges, with TLS's nonce and tags", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const aad = crypto.getRandomValues(new Uint8Array(13));
  for (const tag of [8, 16]) {
    const ccm = new AesCcm(key, tag);
    for (let length = 0; length <= 70; length++) {
      const data = crypto.getRandomValues(new Uint8Array(length));
      const sealed = ccm.seal(nonce, data, aad);
      assert.equal(sealed.length, length + tag);
      assert.deepEqual(ccm.open(nonce, sealed, aad), data);
      assert.equal(ccm.open(nonce, sealed, new Uint8Array(0)), null, "the AAD is bound");
    }
  }
});

Deno.test("AesCcm: key, tag and nonce lengths outside SP 800-38C are refused", () => {
  assert.throws(() => new AesCcm(new Uint8Array(15), 8), RangeError);
  for (const tag of [2, 5, 18]) {
    assert.throws(() => new AesCcm(new Uint8Array(16), tag), RangeError);
  }
  const ccm = new AesCcm(new Uint8Array(16), 16);
  for (const n of [6, 14]) {
    assert.throws(
      () => ccm.seal(new Uint8Array(n), new Uint8Array(1), new Uint8Array(0)),
      RangeError,
    );
  }
  // A 13-byte nonce leaves a 2-byte length field: 65 536 bytes no longer fit.
  assert.throws(
    () => ccm.seal(new Uint8Array(13), new Uint8Array(65_536), new Uint8Array(0)),
    RangeError,
  );
});

Deno.test("AesCcm: additional data of 2^16 - 2^8 bytes and more takes the 0xfffe length form", () => {
  const ccm = new AesCcm(new Uint8Array(16).fill(1), 16);
  const nonce = new Uint8Array(12);
  const data = Uint8Array.of(1, 2, 3);
  const long = new Uint8Array(0xff00);
  const sealed = ccm.seal(nonce, data, long);
  assert.deepEqual(ccm.open(nonce, sealed, long), data);
  // One byte less is the 2-byte form: a different MAC input, so a different tag.
  assert.notDeepEqual(ccm.seal(nonce, data, long.subarray(1)), sealed);
  assert.equal(ccm.open(nonce, sealed, long.subarray(1)), null);
});
