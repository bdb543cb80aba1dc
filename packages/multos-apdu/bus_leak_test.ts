/**
 * The `full` policy must not show a record's padding length on the chip's bus. With
 * Encrypt-then-MAC (the default) the chip MACs the whole ciphertext and decrypts all of it, so
 * rejecting a record costs the same link bytes whatever its padding; with the
 * `allowMacThenEncrypt` opt-in the MAC input shrinks with the padding, which is the leak the
 * option's documentation names.
 */

import assert from "node:assert/strict";
import { cbc } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { AlertDescription, CipherSuites, TlsAlertError } from "@anchortls/record";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { MultosCryptoProvider } from "./multos_crypto_provider.ts";
import { PIN, provisionedChip } from "./_test_support.ts";

const suite = CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256;

async function linkBytesPerRejection(encryptThenMac: boolean): Promise<Set<number>> {
  const chip = await provisionedChip({ exposeSecretsForTesting: true });
  const provider = await MultosCryptoProvider.open(
    { transmit: (apdu) => Promise.resolve(chip.handle(apdu)) },
    { policy: "full", pin: PIN, allowMacThenEncrypt: !encryptThenMac },
  );
  const leaf = await Deno.readTextFile(new URL("../x509/testdata/leaf.pem", import.meta.url));
  const serverKey = parseCertificate(parsePem(leaf)[0]!).publicKey;
  const { premaster } = await provider.encryptPremaster(serverKey);
  const master = await provider.masterSecret(premaster, {
    extendedMasterSecret: true,
    sessionHash: new Uint8Array(32),
  });
  const randoms = { clientRandom: new Uint8Array(32), serverRandom: new Uint8Array(32) };
  const { server } = await provider.recordKeys(master, suite, randoms, { encryptThenMac });
  const [, , , serverMac, , serverEnc] = chip.secretsForTesting();
  const iv = new Uint8Array(16).fill(7);
  const bytes = new Set<number>();
  for (let padLength = 1; padLength < 64; padLength++) {
    // EtM: 128 bytes of plaintext whose last byte claims `padLength` bytes of padding that are
    // not there (the bytes before it are 0xEE), under a valid MAC: only the padding is bad.
    // MtE: well-formed padding of every length (what a padding-oracle attacker probes for),
    // under a MAC that fails.
    const plain = new Uint8Array(128).fill(0xee);
    if (encryptThenMac) plain[127] = padLength;
    else plain.fill(padLength, 127 - padLength);
    const ciphertext = cbc(serverEnc!, iv, { disablePadding: true }).encrypt(plain);
    const context = { type: 23, version: 0x0303, sequence: BigInt(padLength) };
    let fragment: Uint8Array;
    if (encryptThenMac) {
      // A valid MAC, so the chip goes on to decrypt and only the padding is wrong.
      const body = new Uint8Array([...iv, ...ciphertext]);
      const header = new Uint8Array(13);
      new DataView(header.buffer).setBigUint64(0, context.sequence);
      header.set([23, 3, 3, body.length >> 8, body.length & 0xff], 8);
      fragment = new Uint8Array([
        ...body,
        ...hmac(sha256, serverMac!, new Uint8Array([...header, ...body])),
      ]);
    } else {
      fragment = new Uint8Array([...iv, ...ciphertext]);
    }
    const before = provider.trustCore.stats;
    await assert.rejects(
      async () => await server.open(context, fragment),
      (e) => e instanceof TlsAlertError && e.description === AlertDescription.bad_record_mac,
    );
    const after = provider.trustCore.stats;
    // The first record also selects this direction's keys (four MSE commands): not counted.
    if (padLength === 1) continue;
    bytes.add(after.bytesSent - before.bytesSent + after.bytesReceived - before.bytesReceived);
  }
  await provider.close();
  return bytes;
}

Deno.test("full, Encrypt-then-MAC: rejecting a record costs the same link bytes for every padding length", async () => {
  const counts = await linkBytesPerRejection(true);
  assert.equal(counts.size, 1, `link bytes per rejected record: ${[...counts].join(", ")}`);
});

Deno.test("full, allowMacThenEncrypt: the MAC command's length follows the padding (the documented leak)", async () => {
  const counts = await linkBytesPerRejection(false);
  assert.ok(counts.size > 1, "MAC-then-encrypt shows the padding length on the bus");
});
