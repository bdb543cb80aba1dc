import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type ByteLink,
  CommandModeTransport,
  connectTcpLink,
  openSerialPort,
} from "@anchortls/transport-serial";
import { socatAvailable, spawnPtyPair } from "@anchortls/transport-serial/testing";
import { ApduError } from "./apdu_error.ts";
import { TrustCore } from "./trust_core.ts";
import {
  DEVICE_CERTIFICATE_FILE,
  DEVICE_KEY_FILE,
  SeTemplate,
  TrustCoreAlgorithm,
} from "./trust_core_constants.ts";
import { clientCertificateDer, clientPublicKey, PIN } from "./_test_support.ts";
import { type EmulatorEndpoint, type EmulatorProcess, startEmulatorProcess } from "./testing.ts";

const testdata = new URL("../x509/testdata/", import.meta.url).pathname;

/** Starts the CLI with the test identity and waits for its `ready` line; the caller stops it. */
function startEmulator(endpoint: EmulatorEndpoint): Promise<EmulatorProcess> {
  return startEmulatorProcess({
    ...endpoint,
    pin: PIN,
    key: testdata + "client.key",
    cert: testdata + "client.pem",
  });
}

async function exercise(link: ByteLink): Promise<void> {
  const transport = new CommandModeTransport(link);
  try {
    const tc = new TrustCore(transport);
    await tc.select();
    await assert.rejects(tc.verifyPin("0000"), (e) => e instanceof ApduError && e.sw === 0x63c2);
    await tc.verifyPin(PIN);
    assert.deepEqual(await tc.readFile(DEVICE_CERTIFICATE_FILE), await clientCertificateDer());
    const message = new TextEncoder().encode("over the wire");
    const digestInfo = new Uint8Array([
      ...Uint8Array.fromHex("3031300d060960864801650304020105000420"),
      ...sha256(message),
    ]);
    await tc.setSecurityEnvironment(SeTemplate.signature, {
      algorithm: TrustCoreAlgorithm.rsaPkcs1,
      keyFile: DEVICE_KEY_FILE,
    });
    const signature = await tc.signOrMac(digestInfo);
    const key = await crypto.subtle.importKey(
      "spki",
      (await clientPublicKey()).spki as BufferSource,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
    assert.ok(
      await crypto.subtle.verify(
        "RSASSA-PKCS1-v1_5",
        key,
        signature as BufferSource,
        message as BufferSource,
      ),
    );
    const big = new Uint8Array(2992);
    assert.deepEqual(await tc.sha(big), sha256(big));
  } finally {
    await transport.close();
  }
}

Deno.test({
  name: "emulator_cli: TrustCore over a socat pseudo-terminal pair into the emulator",
  ignore: !(await socatAvailable()),
  async fn() {
    const pair = await spawnPtyPair();
    try {
      const emulator = await startEmulator({ tty: pair.paths[0] });
      try {
        assert.equal(emulator.address, `tty:${pair.paths[0]}`);
        await exercise(await openSerialPort(pair.paths[1]));
      } finally {
        await emulator.stop();
      }
    } finally {
      await pair.close();
    }
  },
});

Deno.test("emulator_cli: TrustCore over TCP, twice (each connection power-cycles the chip)", async () => {
  const emulator = await startEmulator({ tcp: 0 });
  try {
    const address = emulator.address;
    assert.match(address, /^tcp:127\.0\.0\.1:\d+$/);
    await exercise(await connectTcpLink(address));
    const transport = new CommandModeTransport(await connectTcpLink(address));
    try {
      const tc = new TrustCore(transport);
      await assert.rejects(tc.version(), (e) => e instanceof ApduError && e.sw === 0x6985);
    } finally {
      await transport.close();
    }
  } finally {
    await emulator.stop();
  }
});
