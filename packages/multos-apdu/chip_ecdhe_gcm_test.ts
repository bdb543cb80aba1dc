/**
 * `MultosCryptoProvider` in `full` driven through an ECDHE AES-GCM key schedule by hand, as the
 * handshake calls it, against a software peer: the chip's ECDH agrees with the peer's, the
 * master secret, Finished and GCM records interoperate with software derived from the peer's
 * side — and no secret the chip made (ephemeral private key, premaster, master secret, write
 * keys) appears in any byte the chip sent or in any value the provider returned, in any form a
 * log or an error could take (hex, base64, inspection, JSON).
 */

import assert from "node:assert/strict";
import { p256, p384 } from "@noble/curves/nist.js";
import {
  deriveKeyBlock,
  deriveMasterSecret,
  finishedVerifyData,
  NamedGroup,
} from "@anchortls/handshake";
import { AeadProtector, type RecordProtector } from "@anchortls/record";
import { CHIP_GCM_SUITES } from "./_chip_session_crypto.ts";
import type { TrustCoreEmulator } from "./emulator.ts";
import { MultosCryptoProvider } from "./multos_crypto_provider.ts";
import { contains, PIN, provisionedChip } from "./_test_support.ts";

function inProcess(chip: TrustCoreEmulator) {
  return { transmit: (apdu: Uint8Array) => Promise.resolve(chip.handle(apdu)) };
}

/** Every text form a returned value takes: inspection, string, JSON, and bytes as hex. */
function textsOf(value: unknown): string[] {
  const texts = [Deno.inspect(value, { depth: 6, showHidden: true })];
  try {
    texts.push(String(value), JSON.stringify(value) ?? "");
  } catch {
    // No string form.
  }
  if (value instanceof Uint8Array) texts.push(value.toHex(), value.toBase64());
  return texts;
}

for (
  const [group, curve] of [[NamedGroup.secp256r1, p256], [NamedGroup.secp384r1, p384]] as const
) {
  for (const suite of CHIP_GCM_SUITES.filter((s) => s.keyExchange !== "rsa")) {
    Deno.test(`full ECDHE in the chip: ${suite.name} over 0x${group.toString(16)} interoperates, and no secret is returned or sent`, async () => {
      const chip = await provisionedChip({ exposeSecretsForTesting: true });
      const provider = await MultosCryptoProvider.open(inProcess(chip), {
        policy: "full",
        pin: PIN,
      });
      const returned: unknown[] = [];
      const keep = <T>(value: T): T => {
        returned.push(value);
        return value;
      };
      try {
        const clientRandom = keep(await provider.random(32));
        const serverRandom = crypto.getRandomValues(new Uint8Array(32));
        const serverSecret = curve.utils.randomSecretKey();
        const serverPoint = curve.getPublicKey(serverSecret, false);
        const agreement = keep(await provider.keyAgreement(group, serverPoint));
        assert.equal(agreement.publicKey[0], 4);
        // The server's side of the ECDH: the premaster is the shared X coordinate.
        const premaster = curve.getSharedSecret(serverSecret, agreement.publicKey, true)
          .subarray(1);
        const sessionHash = crypto.getRandomValues(new Uint8Array(32));
        const master = keep(
          await provider.masterSecret(agreement.premaster, {
            extendedMasterSecret: true,
            sessionHash,
            prfHash: "sha256",
          }),
        );
        const ms = deriveMasterSecret(premaster, { extendedMasterSecret: true, sessionHash });
        const transcript = crypto.getRandomValues(new Uint8Array(32));
        const clientFinished = keep(
          await provider.finished(master, "client finished", transcript, "sha256"),
        );
        assert.deepEqual(clientFinished, finishedVerifyData(ms, "client finished", transcript));
        const { client, server } = keep(
          await provider.recordKeys(master, suite, { clientRandom, serverRandom }, {
            encryptThenMac: false,
          }),
        );
        const keys = deriveKeyBlock(ms, clientRandom, serverRandom, suite);
        const peerReads: RecordProtector = new AeadProtector({
          algorithm: "aes-gcm",
          key: keys.clientEncKey,
          iv: keys.clientIv,
        });
        const peerWrites: RecordProtector = new AeadProtector({
          algorithm: "aes-gcm",
          key: keys.serverEncKey,
          iv: keys.serverIv,
        });
        for (let sequence = 1n; sequence <= 3n; sequence++) {
          const context = { type: 23, version: 0x0303, sequence };
          const data = crypto.getRandomValues(new Uint8Array(100 * Number(sequence)));
          const sealed = keep(await client.seal(context, data));
          assert.deepEqual(await peerReads.open(context, sealed), data);
          const fromPeer = await peerWrites.seal(context, data);
          assert.deepEqual(keep(await server.open(context, fromPeer)), data);
        }
        // Records in one direction: the write key stays selected, one PSO each.
        const before = provider.trustCore.stats.apdus;
        for (let sequence = 10n; sequence < 14n; sequence++) {
          keep(await client.seal({ type: 23, version: 0x0303, sequence }, new Uint8Array(64)));
        }
        assert.equal(
          provider.trustCore.stats.apdus - before,
          4 + 1,
          "one key MSE, then a PSO each",
        );
        await provider.release(agreement.premaster);

        const secrets = chip.secretsForTesting();
        for (const expected of [premaster, ms, keys.clientEncKey, keys.serverEncKey]) {
          assert.ok(secrets.some((s) => s.toHex() === expected.toHex()), "the chip made it");
        }
        assert.ok(
          secrets.some((s) => s.length === curve.lengths.secretKey),
          "the ephemeral private key is among them",
        );
        const haystack = returned.flatMap(textsOf).join("\n");
        for (const secret of secrets) {
          for (const response of chip.sentToHost) {
            assert.ok(!contains(response, secret.subarray(0, 8)), "a secret crossed the link");
          }
          for (const form of [secret.toHex(), secret.toBase64(), [...secret].join(",")]) {
            assert.ok(!haystack.includes(form.slice(0, 24)), "a secret was returned");
          }
        }
      } finally {
        await provider.close();
      }
    });
  }
}
