import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { PrekeyedHmac } from "./_prekeyed_hmac.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** RFC 2202 §3 (HMAC-SHA-1) test cases 1–7. */
const rfc2202 = [
  {
    key: new Uint8Array(20).fill(0x0b),
    data: text("Hi There"),
    mac: "b617318655057264e28bc0b6fb378c8ef146be00",
  },
  {
    key: text("Jefe"),
    data: text("what do ya want for nothing?"),
    mac: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  },
  {
    key: new Uint8Array(20).fill(0xaa),
    data: new Uint8Array(50).fill(0xdd),
    mac: "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
  },
  {
    key: Uint8Array.fromHex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
    data: new Uint8Array(50).fill(0xcd),
    mac: "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
  },
  {
    key: new Uint8Array(20).fill(0x0c),
    data: text("Test With Truncation"),
    mac: "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
  },
  {
    key: new Uint8Array(80).fill(0xaa),
    data: text("Test Using Larger Than Block-Size Key - Hash Key First"),
    mac: "aa4ae5e15272d00e95705637ce8a3b55ed402112",
  },
  {
    key: new Uint8Array(80).fill(0xaa),
    data: text("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
    mac: "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
  },
];

/** RFC 4231 §4 (HMAC-SHA-256) test cases 1–4, 6 and 7 (case 5 is truncated output). */
const rfc4231 = [
  {
    key: new Uint8Array(20).fill(0x0b),
    data: text("Hi There"),
    mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  },
  {
    key: text("Jefe"),
    data: text("what do ya want for nothing?"),
    mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  },
  {
    key: new Uint8Array(20).fill(0xaa),
    data: new Uint8Array(50).fill(0xdd),
    mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
  },
  {
    key: Uint8Array.fromHex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
    data: new Uint8Array(50).fill(0xcd),
    mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
  },
  {
    key: new Uint8Array(131).fill(0xaa),
    data: text("Test Using Larger Than Block-Size Key - Hash Key First"),
    mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  },
  {
    key: new Uint8Array(131).fill(0xaa),
    data: text(
      "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
    ),
    mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
  },
];

/** RFC 4231 §4 (HMAC-SHA-384): the same keys and data as {@linkcode rfc4231}, in order. */
const rfc4231Sha384 = [
  "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
  "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
  "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
  "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
  "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
  "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
].map((mac, i) => ({ ...rfc4231[i]!, mac }));

Deno.test("RFC 2202 and RFC 4231 vectors, twice per key (the pre-keyed states are reused)", () => {
  for (
    const [algorithm, vectors] of [
      ["sha1", rfc2202],
      ["sha256", rfc4231],
      ["sha384", rfc4231Sha384],
    ] as const
  ) {
    for (const { key, data, mac } of vectors) {
      const h = new PrekeyedHmac(algorithm, key);
      for (let round = 0; round < 2; round++) {
        const out = new Uint8Array(h.outputLength);
        h.mac([data.subarray(0, 3), data.subarray(3)], out);
        assert.equal(out.toHex(), mac, `${algorithm} ${mac} round ${round}`);
      }
    }
  }
});

Deno.test("macConstantCost equals HMAC(header ‖ data[0, length)) for every length", () => {
  for (const algorithm of ["sha1", "sha256", "sha384"] as const) {
    const key = new Uint8Array(32).fill(7);
    const h = new PrekeyedHmac(algorithm, key);
    const header = new Uint8Array(13).fill(3);
    const data = new Uint8Array(300).map((_, i) => i * 31);
    for (let length = 0; length < data.length; length++) {
      const out = new Uint8Array(h.outputLength);
      h.macConstantCost(header, data, length, out);
      const expected = createHmac(algorithm, key).update(header).update(data.subarray(0, length))
        .digest("hex");
      assert.equal(out.toHex(), expected, `${algorithm} length ${length}`);
    }
  }
});

Deno.test("macConstantCost is right for every length a record of any size can have", () => {
  for (const algorithm of ["sha1", "sha256", "sha384"] as const) {
    const key = new Uint8Array(20).fill(9);
    const h = new PrekeyedHmac(algorithm, key);
    const header = Uint8Array.fromHex("00000000000000071703030000");
    // Sizes around the 64- and 128-byte block boundaries of header ‖ data and the largest record.
    for (
      const size of [1, 32, 50, 51, 52, 64, 98, 99, 100, 115, 116, 117, 128, 243, 244, 245, 512]
        .concat([1424, 16400])
    ) {
      const data = new Uint8Array(size).map((_, i) => i * 7 + size);
      const shortest = Math.max(0, size - h.outputLength - 256);
      for (let length = shortest; length < size; length++) {
        const out = new Uint8Array(h.outputLength);
        h.macConstantCost(header, data, length, out);
        const expected = createHmac(algorithm, key).update(header).update(
          data.subarray(0, length),
        ).digest("hex");
        assert.equal(out.toHex(), expected, `${algorithm} size ${size} length ${length}`);
      }
    }
  }
});

Deno.test("PrekeyedHmac prints no key material", () => {
  const h = new PrekeyedHmac("sha1", new Uint8Array(20).fill(0xee));
  assert.equal(String(h), "PrekeyedHmac(160 bit)");
  assert.doesNotMatch(Deno.inspect(h, { depth: 10 }), /238|ee/);
});
