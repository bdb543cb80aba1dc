/**
 * The demo as the README runs it: a `deno run` subprocess with no arguments. It must finish
 * every run with its success line, and leave nothing behind — also when interrupted with
 * Ctrl-C (SIGINT). Needs `openssl` (and `socat` for the pseudo-terminal path).
 */
import assert from "node:assert/strict";
import { commandAvailable } from "@anchortls/testing";

/** With mosquitto installed (CI installs it) the demo adds an MQTT run in `full`. */
const mqtt = await commandAvailable("mosquitto", ["-h"]);

const DEMO = new URL("./demo.ts", import.meta.url).pathname;

function spawnDemo(env?: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", DEMO],
    ...(env ? { env } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("demo: every policy over TLS and DTLS (and MQTT, with mosquitto) succeeds, and everything is cleaned up", async () => {
  const out = await spawnDemo().output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `${stdout}\n${new TextDecoder().decode(out.stderr)}`);
  // The server holds an RSA and an ECDSA certificate: every policy gets forward secrecy with
  // ECDHE_ECDSA and AES-GCM; in full the ECDH, the keys and every record's GCM are the chip's.
  const suiteOf = {
    software: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, AEAD",
    hybrid: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, AEAD",
    full: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, AEAD",
  };
  for (const protocol of ["TLS", "DTLS"]) {
    for (const [policy, suite] of Object.entries(suiteOf)) {
      assert.match(
        stdout,
        new RegExp(`^✓ ${protocol} ${policy}: ${suite}, EMS, \\d+ APDUs, \\d+ ms$`, "m"),
        `${protocol} ${policy} success line`,
      );
    }
  }
  assert.equal(
    stdout.match(/ECDHE, master secret/g)?.length,
    4,
    "the ECDHE runs agree on the host",
  );
  const runs = mqtt ? 7 : 6;
  assert.match(
    stdout,
    new RegExp(`^✓ demo complete: all ${runs} runs succeeded in [\\d.]+ s$`, "m"),
  );
  assert.doesNotMatch(stdout, /✗/);
  if (mqtt) {
    assert.match(stdout, /^✓ MQTT full: TLS_\w+, [\w ]+, EMS, \d+ APDUs, \d+ ms$/m);
    assert.match(stdout, /PUBLISH retained QoS 1: PUBACK, and the message back/);
  } else {
    assert.match(stdout, /mosquitto is missing: the MQTT run is skipped \(apt-get install/);
  }
  // Each report names the chain, the verified name and where the operations ran.
  assert.equal(stdout.match(/\(verified for "localhost"\)/g)?.length, runs);
  assert.equal(stdout.match(/^ {2}on chip {3}—$/gm)?.length, 2, "software runs use no chip");
  assert.equal(
    stdout.match(/^ {2}on host {3}—$/gm)?.length,
    mqtt ? 3 : 2,
    "full runs use no host crypto",
  );
  assert.equal(
    stdout.match(/CertificateVerify \(3 APDUs\)/g)?.length,
    mqtt ? 5 : 4,
    "hybrid and full sign in the chip",
  );

  const pkiDir = stdout.match(/in (\/\S+anchortls-pki-\S+)/)?.[1];
  assert.ok(pkiDir, "the demo names its PKI directory");
  assert.equal(await exists(pkiDir), false, "the PKI directory is removed");
  const tlsPort = Number(
    stdout.match(/TLS 1\.2, asks for a client certificate\) on 127\.0\.0\.1:(\d+)/)?.[1],
  );
  assert.equal(await listening(tlsPort), false, "s_server is stopped");
});

Deno.test("demo: Ctrl-C stops the servers and the emulator and removes the PKI", async () => {
  const child = spawnDemo();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    // Interrupt once the servers and the chip are up.
    while (!/TLS with policy software/.test(seen)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
  } finally {
    reader.releaseLock();
  }
  const status = await child.status;
  await child.stderr.cancel();
  // Either the signal arrived mid-run (130), or the short demo had already finished (0).
  assert.ok(status.code === 130 || status.code === 0, `exit ${status.code}:\n${seen}`);
  if (status.code === 130) assert.match(seen, /SIGINT: stopping everything the demo started/);
  const pkiDir = seen.match(/in (\/\S+anchortls-pki-\S+)/)?.[1];
  assert.ok(pkiDir);
  assert.equal(await exists(pkiDir), false, "the PKI directory is removed");
  const tlsPort = Number(seen.match(/on 127\.0\.0\.1:(\d+)/)?.[1]);
  assert.equal(await listening(tlsPort), false, "s_server is stopped");
});

/** A PATH holding only the given programs (symlinked from where `which` finds them). */
async function pathWith(dir: string, programs: string[]): Promise<string> {
  for (const program of programs) {
    const out = await new Deno.Command("which", { args: [program], stdout: "piped" }).output();
    await Deno.symlink(new TextDecoder().decode(out.stdout).trim(), `${dir}/${program}`);
  }
  return dir;
}

Deno.test("demo: without socat the emulator runs in-process, and every run still succeeds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await spawnDemo({ PATH: await pathWith(dir, ["openssl"]) }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, stdout);
    assert.match(stdout, /^• socat is missing: the Trust Core emulator runs in-process/m);
    assert.match(
      stdout,
      /chip {6}emulator in-process \(memory link\): 23 APDUs, \d+ bytes to the chip/,
    );
    assert.match(stdout, /^✓ demo complete: all 6 runs succeeded/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("demo: without openssl it says what to install, in one line, and exits non-zero", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await spawnDemo({ PATH: dir }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.notEqual(out.code, 0);
    assert.equal(
      stdout,
      "demo: openssl is missing — install it with: apt-get install -y openssl\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("demo: --help prints the usage and runs nothing; an unknown argument is refused", async () => {
  for (const flag of ["--help", "-h"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", DEMO, flag],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0);
    assert.match(stdout, /^usage: deno run -A examples\/demo\.ts/);
    assert.doesNotMatch(stdout, /making a throwaway PKI|✓/);
  }
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", DEMO, "--bogus"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stdout), /no arguments expected \(got --bogus\)/);
});
