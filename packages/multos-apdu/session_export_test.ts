/**
 * Sessions that survive the process in `full` (issue 19): the exported master secret names
 * its chip slot and carries a check value, the secret itself staying in the chip. A provider
 * opened later with `keepSessionKeys` takes it back; one that erased the chip (the default),
 * a chip that was reset, or a slot reused by a newer session refuse it as `lost`.
 */

import assert from "node:assert/strict";
import { SessionImportError } from "@anchortls/handshake";
import { parseCertificate } from "@anchortls/x509";
import { MultosCryptoProvider } from "./multos_crypto_provider.ts";
import type { TrustCoreEmulator } from "./emulator.ts";
import { clientCertificateDer, contains, PIN, provisionedChip } from "./_test_support.ts";

const transportTo = (chip: TrustCoreEmulator) => ({
  transmit: (apdu: Uint8Array) => Promise.resolve(chip.handle(apdu)),
});

const HASH = new Uint8Array(32).fill(7);

/** A provider over `chip` with a master secret made in it, and that secret's client Finished. */
async function withMaster(chip: TrustCoreEmulator, keepSessionKeys = false) {
  const provider = await MultosCryptoProvider.open(transportTo(chip), {
    policy: "full",
    pin: PIN,
    keepSessionKeys,
  });
  const serverKey = parseCertificate(await clientCertificateDer()).publicKey;
  const { premaster } = await provider.encryptPremaster(serverKey);
  const master = await provider.masterSecret(premaster, {
    extendedMasterSecret: true,
    sessionHash: new Uint8Array(32).fill(3),
  });
  await provider.release(premaster);
  const finished = await provider.finished(master, "client finished", HASH);
  return { provider, master, finished };
}

const isLost = (e: unknown) => e instanceof SessionImportError && e.reason === "lost";

Deno.test("MultosCryptoProvider full: an exported master secret is its slot and a check value; a later provider with keepSessionKeys takes it back", async () => {
  const chip = await provisionedChip({ exposeSecretsForTesting: true });
  const { provider, master, finished } = await withMaster(chip, true);
  const portable = await provider.exportMasterSecret(master);
  assert.equal(portable.kind, "multos-chip");
  assert.equal(portable.data.length, 14);
  // None of the chip's secrets is in what left it.
  for (const secret of chip.secretsForTesting()) {
    assert.ok(!contains(portable.data, secret), "a chip secret in the export");
  }
  // The process closes its provider (which, keeping session keys, does not erase them) and
  // ends; a new one opens on the same chip.
  await provider.close();
  await assert.rejects(provider.finished(master, "client finished", HASH), /erased chip session/);
  const later = await MultosCryptoProvider.open(transportTo(chip), {
    policy: "full",
    pin: PIN,
    keepSessionKeys: true,
  });
  const imported = await later.importMasterSecret(portable);
  assert.deepEqual(await later.finished(imported, "client finished", HASH), finished);
  await later.close();
});

Deno.test("MultosCryptoProvider full: an imported master secret the chip lost is refused as lost", async () => {
  // The default close erases the session's keys.
  {
    const chip = await provisionedChip();
    const { provider, master } = await withMaster(chip);
    const portable = await provider.exportMasterSecret(master);
    await provider.close();
    const later = await MultosCryptoProvider.open(transportTo(chip), {
      policy: "full",
      pin: PIN,
      keepSessionKeys: true,
    });
    await assert.rejects(later.importMasterSecret(portable), isLost);
  }
  // The default open erases what an earlier process left.
  {
    const chip = await provisionedChip();
    const { provider, master } = await withMaster(chip);
    const portable = await provider.exportMasterSecret(master);
    const later = await MultosCryptoProvider.open(transportTo(chip), { policy: "full", pin: PIN });
    await assert.rejects(later.importMasterSecret(portable), isLost);
  }
  // A newer full handshake erased it and may have put another secret in its slot.
  {
    const chip = await provisionedChip();
    const { provider, master } = await withMaster(chip);
    const portable = await provider.exportMasterSecret(master);
    const later = await withMaster(chip, true);
    await assert.rejects(later.provider.importMasterSecret(portable), isLost);
  }
  // A reset chip lost its RAM.
  {
    const chip = await provisionedChip();
    const { provider, master } = await withMaster(chip);
    const portable = await provider.exportMasterSecret(master);
    chip.reset();
    const later = await MultosCryptoProvider.open(transportTo(chip), {
      policy: "full",
      pin: PIN,
      keepSessionKeys: true,
    });
    await assert.rejects(later.importMasterSecret(portable), isLost);
  }
});

Deno.test("MultosCryptoProvider: a hybrid (host) master secret is no chip slot, and a forged slot is refused", async () => {
  const chip = await provisionedChip();
  const hybrid = await MultosCryptoProvider.open(transportTo(chip), { policy: "hybrid", pin: PIN });
  const full = await MultosCryptoProvider.open(transportTo(chip), {
    policy: "full",
    pin: PIN,
    keepSessionKeys: true,
  });
  const host = { kind: "host", data: new Uint8Array(48) };
  await assert.rejects(
    full.importMasterSecret(host),
    (e) => e instanceof SessionImportError && e.reason === "provider",
  );
  assert.ok(await hybrid.importMasterSecret(host), "hybrid keeps its master on the host");
  await assert.rejects(
    hybrid.importMasterSecret({ kind: "multos-chip", data: new Uint8Array(14) }),
    (e) => e instanceof SessionImportError && e.reason === "provider",
  );
  await assert.rejects(
    full.importMasterSecret({ kind: "multos-chip", data: new Uint8Array(3) }),
    (e) => e instanceof SessionImportError && e.reason === "malformed",
  );
  // A slot that holds no master secret.
  await assert.rejects(
    full.importMasterSecret({
      kind: "multos-chip",
      data: Uint8Array.of(0x12, 0x34, ...HASH.subarray(0, 12)),
    }),
    isLost,
  );
});
