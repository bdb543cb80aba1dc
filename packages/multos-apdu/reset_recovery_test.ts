/**
 * A chip reset under the provider (the transport resynchronising after a lost answer, or on
 * request) deselects the applet and loses its RAM: the provider selects and verifies the PIN
 * again before the next command, and refuses every handle of the lost session.
 */
import assert from "node:assert/strict";
import {
  CommandModeDevice,
  CommandModeTransport,
  createMemoryLinkPair,
} from "@anchortls/transport-serial";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { MultosCryptoProvider } from "./multos_crypto_provider.ts";
import { PIN, provisionedChip } from "./_test_support.ts";

Deno.test("reset: the provider re-SELECTs and re-VERIFYs, and the erased session's handles are refused", async () => {
  const chip = await provisionedChip();
  const [host, chipEnd] = createMemoryLinkPair();
  const device = new CommandModeDevice(chipEnd, chip.handle, { onReset: () => chip.reset() });
  const transport = await CommandModeTransport.open(host);
  const sent: string[] = [];
  const provider = await MultosCryptoProvider.open({
    transmit: (apdu, options) => {
      sent.push(apdu.subarray(0, 2).toHex());
      return transport.transmit(apdu, options);
    },
    get resets() {
      return transport.resets;
    },
  }, { policy: "full", pin: PIN });
  try {
    const leaf = parsePem(
      await Deno.readTextFile(new URL("../x509/testdata/leaf.pem", import.meta.url)),
    )[0]!;
    const serverKey = parseCertificate(leaf).publicKey;
    const { premaster } = await provider.encryptPremaster(serverKey);
    await transport.reset();
    sent.length = 0;
    // The next command is preceded by SELECT and VERIFY PIN, and works.
    const again = await provider.encryptPremaster(serverKey);
    assert.deepEqual(sent.slice(0, 2), ["00a4", "8020"]);
    assert.equal(again.encrypted.length, 256);
    await assert.rejects(
      provider.masterSecret(premaster, {
        extendedMasterSecret: true,
        sessionHash: new Uint8Array(32),
      }),
      /erased chip session/,
    );
  } finally {
    await provider.close();
    await transport.close();
    await device.close();
  }
});
