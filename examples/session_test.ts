/**
 * `--session FILE` (issue 19): a session saved by one run of an example resumes in the next
 * process, with an abbreviated handshake, against a server that keeps no session cache (so by
 * ticket): in software, and in `full` with the master secret kept in a chip behind a socat pty
 * that outlives the runs. A reset chip has lost it, and the run says so and does a full
 * handshake.
 */

import assert from "node:assert/strict";
import { commandAvailable, fixedPki, startOpenSslServer } from "@anchortls/testing";
import { spawnPtyPair } from "@anchortls/transport-serial/testing";
import { startEmulatorProcess } from "@anchortls/multos-apdu/testing";
import { runExample } from "./_run_example.ts";

const ecClient = {
  key: new URL("../packages/x509/testdata/ec-client.key", import.meta.url).pathname,
  cert: new URL("../packages/x509/testdata/ec-client.pem", import.meta.url).pathname,
};

async function get(port: number, sessionFile: string, extra: string[] = []): Promise<string> {
  const outcome = await runExample("https_get", [
    ...["--ca", fixedPki.root, "--session", sessionFile, ...extra],
    `https://localhost:${port}/`,
  ]);
  assert.equal(outcome.code, 0, outcome.stderr);
  return outcome.stdout;
}

Deno.test("--session: a software session saved by one run resumes in the next", async () => {
  await using server = await startOpenSslServer({ pki: fixedPki, extraArgs: ["-no_cache"] });
  const dir = await Deno.makeTempDir({ prefix: "anchortls-session-" });
  try {
    const file = `${dir}/session.bin`;
    assert.match(await get(server.port, file), /resumed no[\s\S]*session {3}new, saved in/);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, "a secret: mode 0600");
    assert.match(await get(server.port, file), /resumed yes[\s\S]*session {3}resumed, saved/);
    // Damaged, it is said so in one line, and the run does a full handshake.
    await Deno.writeFile(file, new TextEncoder().encode("ATLS-SESSION\x01junk"));
    const damaged = await get(server.port, file);
    assert.match(damaged, /session {3}.* not resumed: session import: malformed/);
    assert.match(damaged, /resumed no/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "--session: in full the master secret stays in the chip across runs, until the chip is reset",
  ignore: !(await commandAvailable("socat", ["-V"])),
  async fn() {
    await using server = await startOpenSslServer({ pki: fixedPki, extraArgs: ["-no_cache"] });
    const dir = await Deno.makeTempDir({ prefix: "anchortls-session-" });
    const pair = await spawnPtyPair();
    try {
      const file = `${dir}/session.bin`;
      const chip = ["--trust-anchor", pair.paths[1]!, "--policy", "full", "--pin", "4711"];
      let emulator = await startEmulatorProcess({ tty: pair.paths[0]!, pin: "4711", ...ecClient });
      try {
        assert.match(await get(server.port, file, chip), /resumed no[\s\S]*session {3}new/);
        const again = await get(server.port, file, chip);
        assert.match(again, /resumed yes/);
        assert.match(again, /on chip .*key block/, "the session's keys come from the chip");
      } finally {
        await emulator.stop();
      }
      // A new emulator is a chip that was powered off: the slot is gone.
      emulator = await startEmulatorProcess({ tty: pair.paths[0]!, pin: "4711", ...ecClient });
      try {
        const lost = await get(server.port, file, chip);
        assert.match(lost, /not resumed: session import: lost/);
        assert.match(lost, /resumed no/);
      } finally {
        await emulator.stop();
      }
    } finally {
      await pair.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
