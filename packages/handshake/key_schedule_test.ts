import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { deriveKeyBlock, deriveMasterSecret, finishedVerifyData } from "./key_schedule.ts";

// NIST CAVS TLS 1.2 KDF vectors, from OpenSSL's evpkdf_tls12_prf.txt.
const premaster = Uint8Array.fromHex(
  "f8938ecc9edebc5030c0c6a441e213cd24e6f770a50dda07876f8d55da062bcadb386b411fd4fe4313a604fce6c17fbc",
);
const master = Uint8Array.fromHex(
  "202c88c00f84a17a20027079604787461176455539e705be730890602c289a5001e34eeb3a043e5d52a65e66125188bf",
);
const keyBlock = "d06139889fffac1e3a71865f504aa5d0d2a2e89506c6f2279b670c3e1b74f531" +
  "016a2530c51a3a0f7e1d6590d0f0566b2f387f8d11fd4f731cdd572d2eae927f" +
  "6f2f81410b25e6960be68985add6c38445ad9f8c64bf8068bf9a6679485d966f" +
  "1ad6f68b43495b10a683755ea2b858d70ccac7ec8b053c6bd41ca299d4e51928";
const abcHash = sha256(new TextEncoder().encode("abc"));

Deno.test("deriveMasterSecret: classic derivation matches the NIST vector", () => {
  const out = deriveMasterSecret(premaster, {
    extendedMasterSecret: false,
    clientRandom: Uint8Array.fromHex(
      "36c129d01a3200894b9179faac589d9835d58775f9b5ea3587cb8fd0364cae8c",
    ),
    serverRandom: Uint8Array.fromHex(
      "f6c9575ed7ddd73e1f7d16eca115415812a43c2b747daaaae043abfb50053fce",
    ),
  });
  assert.deepEqual(out, master);
});

Deno.test("deriveMasterSecret: EMS matches `openssl kdf TLS1-PRF`", () => {
  // openssl kdf -keylen 48 -kdfopt digest:SHA256 -kdfopt hexsecret:<premaster>
  //   -kdfopt seed:"extended master secret" -kdfopt hexseed:<sha256("abc")> TLS1-PRF
  const out = deriveMasterSecret(premaster, { extendedMasterSecret: true, sessionHash: abcHash });
  assert.equal(
    out.toHex(),
    "4c6315605fafe3a524d408fc69eed44db45fe2da71f9c68f286fe39c2d6ccb279bad40c5be244dddbaaf68a772e06da9",
  );
});

Deno.test("deriveKeyBlock: splits the NIST key-expansion output in RFC order", () => {
  const clientRandom = Uint8Array.fromHex(
    "62e1fd91f23f558a605f28478c58cf72637b89784d959df7e946d3f07bd1b616",
  );
  const serverRandom = Uint8Array.fromHex(
    "ae6c806f8ad4d80784549dff28a4b58fd837681a51d928c3e30ee5ff14f39868",
  );
  for (
    const shape of [
      { macKeyLength: 20, encKeyLength: 16 },
      { macKeyLength: 20, encKeyLength: 32 },
      { macKeyLength: 32, encKeyLength: 16 },
      { macKeyLength: 32, encKeyLength: 32 },
    ]
  ) {
    const keys = deriveKeyBlock(master, clientRandom, serverRandom, shape);
    const m = shape.macKeyLength * 2;
    const e = shape.encKeyLength * 2;
    assert.equal(keys.clientMacKey.toHex(), keyBlock.slice(0, m));
    assert.equal(keys.serverMacKey.toHex(), keyBlock.slice(m, 2 * m));
    assert.equal(keys.clientEncKey.toHex(), keyBlock.slice(2 * m, 2 * m + e));
    assert.equal(keys.serverEncKey.toHex(), keyBlock.slice(2 * m + e, 2 * m + 2 * e));
  }
});

Deno.test("finishedVerifyData: both labels match `openssl kdf TLS1-PRF`", () => {
  assert.equal(
    finishedVerifyData(master, "client finished", abcHash).toHex(),
    "9affa7d4c29371f8597f8336",
  );
  assert.equal(
    finishedVerifyData(master, "server finished", abcHash).toHex(),
    "ef47f3440e012f27b22f10b3",
  );
});
