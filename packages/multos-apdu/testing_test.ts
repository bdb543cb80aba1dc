import assert from "node:assert/strict";
import { startEmulatorProcess } from "./testing.ts";
import { PIN } from "./_test_support.ts";

const testdata = new URL("../x509/testdata/", import.meta.url).pathname;

Deno.test("startEmulatorProcess: serves on a free TCP port and stops twice without error", async () => {
  const emulator = await startEmulatorProcess({
    tcp: 0,
    pin: PIN,
    key: testdata + "client.key",
    cert: testdata + "client.pem",
  });
  try {
    assert.match(emulator.address, /^tcp:127\.0\.0\.1:[1-9]\d*$/);
  } finally {
    await emulator.stop();
  }
  await emulator.stop();
});

Deno.test("startEmulatorProcess: an emulator that dies before it is ready is a clear error", async () => {
  await assert.rejects(
    startEmulatorProcess({
      tcp: 0,
      pin: PIN,
      key: testdata + "no-such.key",
      cert: testdata + "client.pem",
      stderr: "null",
    }),
    /emulator exited before it was ready/,
  );
});
