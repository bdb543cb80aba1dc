/**
 * The Trust Core's ECC and AES-GCM commands (issue 17) through `TrustCore` against the
 * emulator, each checked against an independent implementation: EC key generation (P-256 and
 * P-384, ECDH-only keys), the ECDH premaster (its master secret equals the one derived in
 * software from noble's shared secret), ECDSA signing (verified with noble), a GCM suite's key
 * block (4-byte implicit IVs, no MAC keys) and GCM records in the vendor's data forms (equal to
 * noble's AES-GCM under the key the key block derives) — and what the applet refuses: the wrong
 * curve, a key file of the wrong class, a point off the curve, an ECDH-only key asked to sign,
 * a GCM tag that does not verify.
 */

import assert from "node:assert/strict";
import { gcm } from "@noble/ciphers/aes.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { deriveKeyBlock, deriveMasterSecret } from "@anchortls/handshake";
import { CipherSuites } from "@anchortls/record";
import { ApduError } from "./apdu_error.ts";
import { openSession, provisionedChip } from "./_test_support.ts";
import { SeTemplate, TrustCoreAlgorithm as Alg } from "./trust_core_constants.ts";

const EPHEMERAL_KEY_FILE = 0x6303;
const DEVICE_EC_KEY_FILE = 0x6300;

async function session() {
  const chip = await provisionedChip({ exposeSecretsForTesting: true });
  return { chip, tc: await openSession(chip) };
}

function rejectsWith(sw: number): (error: unknown) => boolean {
  return (error) => error instanceof ApduError && error.sw === sw;
}

for (const [curveName, curve] of [["P-256", p256], ["P-384", p384]] as const) {
  Deno.test(`chip ECDH over ${curveName}: the premaster's master secret is the software one`, async () => {
    const { chip, tc } = await session();
    const ours = await tc.generateEcKey(EPHEMERAL_KEY_FILE, curveName, true);
    const size = curve.lengths.publicKeyUncompressed! - 1;
    assert.equal(ours.length, size, "X ‖ Y, no 04 prefix");
    const peerSecret = curve.utils.randomSecretKey();
    const peer = curve.getPublicKey(peerSecret, false).subarray(1);
    await tc.setSecurityEnvironment(SeTemplate.tls, {
      algorithm: Alg.ecdh,
      keyFile: EPHEMERAL_KEY_FILE,
    });
    const premaster = await tc.generateEcdhPremaster(
      peer.subarray(0, size / 2),
      peer.subarray(size / 2),
    );
    const sessionHash = crypto.getRandomValues(new Uint8Array(32));
    const { handle } = await tc.generateMasterSecret(premaster, { sessionHash });
    assert.ok(handle > 0);
    const shared = curve.getSharedSecret(peerSecret, Uint8Array.of(4, ...ours), true).subarray(1);
    const expected = deriveMasterSecret(shared, { extendedMasterSecret: true, sessionHash });
    const secrets = chip.secretsForTesting().map((s) => s.toHex());
    assert.ok(secrets.includes(shared.toHex()), "the premaster is the shared X coordinate");
    assert.ok(secrets.includes(expected.toHex()), "the chip's master secret is the software one");
  });

  Deno.test(`chip ECDSA over ${curveName}: r ‖ s that verifies under the returned public key`, async () => {
    const { tc } = await session();
    const publicKey = await tc.generateEcKey(DEVICE_EC_KEY_FILE, curveName, false);
    await tc.setSecurityEnvironment(SeTemplate.signature, {
      algorithm: Alg.ecdsa,
      keyFile: DEVICE_EC_KEY_FILE,
    });
    const hash = crypto.getRandomValues(new Uint8Array(curveName === "P-256" ? 32 : 48));
    const signature = await tc.signOrMac(hash);
    assert.equal(signature.length, publicKey.length, "r and s, each the field's length");
    const point = Uint8Array.of(4, ...publicKey);
    assert.ok(curve.verify(signature, hash, point, { prehash: false }));
    hash[0]! ^= 1;
    assert.ok(!curve.verify(signature, hash, point, { prehash: false }));
  });
}

Deno.test("chip ECC refusals: wrong curve, wrong key file class, point off the curve, ECDH-only key signing", async () => {
  const { tc } = await session();
  await assert.rejects(tc.generateEcKey(EPHEMERAL_KEY_FILE, "P-521", true), rejectsWith(0x6a80));
  await assert.rejects(tc.generateEcKey(0x6210, "P-256", true), rejectsWith(0x6a80));
  await assert.rejects(tc.generateEcKey(0x6100, "P-256", true), rejectsWith(0x6a80));

  const ours = await tc.generateEcKey(EPHEMERAL_KEY_FILE, "P-256", true);
  await tc.setSecurityEnvironment(SeTemplate.tls, {
    algorithm: Alg.ecdh,
    keyFile: EPHEMERAL_KEY_FILE,
  });
  const offCurve = ours.slice();
  offCurve[63]! ^= 1;
  await assert.rejects(
    tc.generateEcdhPremaster(offCurve.subarray(0, 32), offCurve.subarray(32)),
    rejectsWith(0x6a80),
  );
  await assert.rejects(
    tc.generateEcdhPremaster(ours.subarray(0, 32), ours.subarray(32, 63)),
    rejectsWith(0x6700),
  );

  await tc.setSecurityEnvironment(SeTemplate.signature, {
    algorithm: Alg.ecdsa,
    keyFile: EPHEMERAL_KEY_FILE,
  });
  await assert.rejects(tc.signOrMac(new Uint8Array(32)), rejectsWith(0x6982));
});

Deno.test("chip ECDH premaster without algorithm 0C in the TLS template is refused", async () => {
  const { tc } = await session();
  const ours = await tc.generateEcKey(EPHEMERAL_KEY_FILE, "P-256", true);
  await tc.setSecurityEnvironment(SeTemplate.tls, { keyFile: EPHEMERAL_KEY_FILE });
  await assert.rejects(
    tc.generateEcdhPremaster(ours.subarray(0, 32), ours.subarray(32)),
    rejectsWith(0x6985),
  );
});

for (
  const suite of [
    CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuites.TLS_RSA_WITH_AES_128_GCM_SHA256,
  ]
) {
  Deno.test(`chip GCM key block and records under ${suite.name}: noble's AES-GCM under the derived key`, async () => {
    const { chip, tc } = await session();
    const premaster = await tc.generatePremaster();
    const sessionHash = crypto.getRandomValues(new Uint8Array(32));
    const { handle: masterHandle } = await tc.generateMasterSecret(premaster, { sessionHash });
    // The emulator's first secret is the premaster; the master secret follows from it.
    const master = deriveMasterSecret(chip.secretsForTesting()[0]!, {
      extendedMasterSecret: true,
      sessionHash,
    });
    await tc.setSecurityEnvironment(SeTemplate.tls, { cipherSuite: suite.id });
    await tc.setSecurityEnvironment(SeTemplate.tls, { keyFile: masterHandle });
    const serverRandom = crypto.getRandomValues(new Uint8Array(32));
    const clientRandom = crypto.getRandomValues(new Uint8Array(32));
    const block = await tc.generateKeyBlock(serverRandom, clientRandom);
    const expected = deriveKeyBlock(master, clientRandom, serverRandom, suite);
    assert.equal(block.clientMac, 0, "no MAC keys for GCM");
    assert.equal(block.serverMac, 0);
    assert.deepEqual(block.clientIv.subarray(0, 4), expected.clientIv);
    assert.deepEqual(block.serverIv.subarray(0, 4), expected.serverIv);
    assert.deepEqual(block.clientIv.subarray(4), new Uint8Array(12));

    await tc.setSecurityEnvironment(SeTemplate.confidentiality, {
      algorithm: Alg.aesGcm,
      keyFile: block.clientWrite,
    });
    const nonce = Uint8Array.of(...expected.clientIv, 0, 0, 0, 0, 0, 0, 0, 1);
    const aad = crypto.getRandomValues(new Uint8Array(13));
    for (const size of [0, 1, 16, 100, 2048]) {
      const plaintext = crypto.getRandomValues(new Uint8Array(size));
      const sealed = await tc.encryptGcm(nonce, aad, plaintext);
      assert.deepEqual(sealed, gcm(expected.clientEncKey, nonce, aad).encrypt(plaintext));
      assert.deepEqual(await tc.decryptGcm(nonce, aad, sealed), plaintext);
      const forged = sealed.slice();
      forged[forged.length - 1]! ^= 1;
      assert.equal(await tc.decryptGcm(nonce, aad, forged), undefined, "a bad tag is reported");
    }
    // The vendor's tcEncryptGcm refuses an IV and AAD shorter than a block together.
    await assert.rejects(tc.encryptGcm(new Uint8Array(4), new Uint8Array(8), new Uint8Array(1)));
  });
}

Deno.test("chip GCM with the CBC algorithm in the template is not GCM: conditions not satisfied", async () => {
  const { tc } = await session();
  await tc.setSecurityEnvironment(SeTemplate.confidentiality, { algorithm: Alg.aesCbc });
  await assert.rejects(
    tc.decryptGcm(new Uint8Array(12), new Uint8Array(13), new Uint8Array(32)),
    (e) => e instanceof ApduError,
  );
});
