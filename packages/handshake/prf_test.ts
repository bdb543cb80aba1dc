import assert from "node:assert/strict";
import { tls12Prf } from "./prf.ts";

// NIST CAVS TLS 1.2 KDF vectors (SHA-256) as carried in OpenSSL's
// test/recipes/30-test_evp_data/evpkdf_tls12_prf.txt.
const clientRandom = "36c129d01a3200894b9179faac589d9835d58775f9b5ea3587cb8fd0364cae8c";
const serverRandom = "f6c9575ed7ddd73e1f7d16eca115415812a43c2b747daaaae043abfb50053fce";
const vectors = [
  {
    name: "master secret",
    secret:
      "f8938ecc9edebc5030c0c6a441e213cd24e6f770a50dda07876f8d55da062bcadb386b411fd4fe4313a604fce6c17fbc",
    label: "master secret",
    seed: clientRandom + serverRandom,
    output:
      "202c88c00f84a17a20027079604787461176455539e705be730890602c289a5001e34eeb3a043e5d52a65e66125188bf",
  },
  {
    name: "key expansion",
    secret:
      "202c88c00f84a17a20027079604787461176455539e705be730890602c289a5001e34eeb3a043e5d52a65e66125188bf",
    label: "key expansion",
    seed: "ae6c806f8ad4d80784549dff28a4b58fd837681a51d928c3e30ee5ff14f39868" +
      "62e1fd91f23f558a605f28478c58cf72637b89784d959df7e946d3f07bd1b616",
    output: "d06139889fffac1e3a71865f504aa5d0d2a2e89506c6f2279b670c3e1b74f531" +
      "016a2530c51a3a0f7e1d6590d0f0566b2f387f8d11fd4f731cdd572d2eae927f" +
      "6f2f81410b25e6960be68985add6c38445ad9f8c64bf8068bf9a6679485d966f" +
      "1ad6f68b43495b10a683755ea2b858d70ccac7ec8b053c6bd41ca299d4e51928",
  },
  {
    name: "extended master secret, short secret",
    secret: "0102030405060708090a0b",
    label: "extended master secret",
    seed: clientRandom + serverRandom,
    output:
      "8cb203c99a13871fd96cecd2770720df3c4ebd49e1cbc956fddb400f9c051fb69b63d7abb2f996f4e4d1ac0e9153f51b",
  },
];

for (const v of vectors) {
  Deno.test(`tls12Prf: NIST CAVS vector, ${v.name}`, () => {
    const out = tls12Prf(
      Uint8Array.fromHex(v.secret),
      v.label,
      Uint8Array.fromHex(v.seed),
      v.output.length / 2,
    );
    assert.equal(out.toHex(), v.output);
  });
}

Deno.test("tls12Prf: a shorter output is a prefix of a longer one", () => {
  const v = vectors[1]!;
  const long = tls12Prf(Uint8Array.fromHex(v.secret), v.label, Uint8Array.fromHex(v.seed), 128);
  for (const n of [0, 1, 12, 31, 32, 33, 104]) {
    const short = tls12Prf(Uint8Array.fromHex(v.secret), v.label, Uint8Array.fromHex(v.seed), n);
    assert.deepEqual(short, long.subarray(0, n));
  }
});

Deno.test("tls12Prf: label and seed both change the output", () => {
  const secret = new Uint8Array(48).fill(7);
  const seed = new Uint8Array(64).fill(1);
  const base = tls12Prf(secret, "master secret", seed, 48);
  assert.notDeepEqual(tls12Prf(secret, "master secreu", seed, 48), base);
  const seed2 = seed.slice();
  seed2[63] = 2;
  assert.notDeepEqual(tls12Prf(secret, "master secret", seed2, 48), base);
});

Deno.test("tls12Prf: rejects a bad length", () => {
  assert.throws(() => tls12Prf(new Uint8Array(1), "x", new Uint8Array(0), -1), RangeError);
  assert.throws(() => tls12Prf(new Uint8Array(1), "x", new Uint8Array(0), 1.5), RangeError);
});

Deno.test("tls12Prf: P_SHA384 vector (the IETF TLS WG PRF test vectors, 148 bytes)", () => {
  const out = tls12Prf(
    Uint8Array.fromHex("b80b733d6ceefcdc71566ea48e5567df"),
    "test label",
    Uint8Array.fromHex("cd665cf6a8447dd6ff8b27555edb7465"),
    148,
    "sha384",
  );
  assert.equal(
    out.toHex(),
    "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd" +
      "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd" +
      "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425" +
      "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6" +
      "91c8f3a26854308d5eaa3be85e0990703d73e56f",
  );
});
