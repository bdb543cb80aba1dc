/**
 * End-to-end: DTLS 1.2 handshakes and messages against `openssl s_server -dtls1_2` (cookie
 * exchange, client certificate required) with the secrets in the emulated chip, in process,
 * for both policies, every suite and Encrypt-then-MAC on and off. Needs `--allow-run`
 * (openssl), `--allow-net` (127.0.0.1) and `--allow-read`.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { connectDtls } from "@anchortls/client";
import { type CipherSuite, CipherSuites } from "@anchortls/record";
import { MultosCryptoProvider } from "../multos_crypto_provider.ts";
import type { TrustCoreEmulator } from "../emulator.ts";
import { contains, PIN, provisionedChip } from "../_test_support.ts";

const testdata = new URL("../../x509/testdata/", import.meta.url).pathname;
const rootPem = await Deno.readTextFile(testdata + "root.pem");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Server {
  readonly port: number;
  /** Resolves once stdout has matched, or rejects after `ms`. */
  printed(pattern: RegExp, ms?: number): Promise<void>;
  /** Writes to s_server's stdin, which it sends to the client. */
  say(text: string): Promise<void>;
  stop(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** `openssl s_server -dtls1_2` requiring a client certificate; stdin stays open until stop. */
async function startServer(): Promise<Server> {
  const port = await freeUdpPort();
  const caFile = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(
    caFile,
    rootPem + await Deno.readTextFile(testdata + "intermediate.pem"),
  );
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-dtls1_2",
      "-accept",
      `127.0.0.1:${port}`,
      "-mtu",
      "1400",
      "-cert",
      testdata + "leaf.pem",
      "-key",
      testdata + "leaf.key",
      "-cert_chain",
      testdata + "intermediate.pem",
      // The chip sends its leaf alone; the store holds what completes its chain.
      "-CAfile",
      caFile,
      "-Verify",
      "3",
      "-verify_return_error",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  let output = "";
  const waiting = new Set<() => void>();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      for (const check of waiting) check();
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const printed = (pattern: RegExp, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(check);
        reject(new Error(`s_server never printed ${pattern}: ${output}`));
      }, ms);
      const check = () => {
        if (!pattern.test(output)) return;
        clearTimeout(timer);
        waiting.delete(check);
        resolve();
      };
      waiting.add(check);
      check();
    });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await stdin.close().catch(() => {});
    await child.status;
    await drained;
    await Deno.remove(caFile).catch(() => {});
  };
  try {
    await printed(/ACCEPT/);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, printed, say: (text) => stdin.write(encoder.encode(text)), stop };
}

function inProcess(chip: TrustCoreEmulator) {
  return { transmit: (apdu: Uint8Array) => Promise.resolve(chip.handle(apdu)) };
}

function assertNoSecretSent(chip: TrustCoreEmulator): void {
  const secrets = chip.secretsForTesting();
  assert.ok(secrets.length >= 6, "premaster, master secret and four record keys");
  for (const secret of secrets) {
    for (const response of chip.sentToHost) assert.ok(!contains(response, secret.subarray(0, 8)));
  }
}

for (const policy of ["full", "hybrid"] as const) {
  Deno.test(`e2e DTLS ${policy}: every suite × EtM against openssl s_server -dtls1_2 with the chip's client certificate`, async () => {
    const server = await startServer();
    try {
      let closes = 0;
      for (const suite of Object.values(CipherSuites) as CipherSuite[]) {
        for (const encryptThenMac of [true, false]) {
          const tag = `${suite.name}-${encryptThenMac}`;
          const chip = await provisionedChip({ exposeSecretsForTesting: true });
          const provider = await MultosCryptoProvider.open(inProcess(chip), { policy, pin: PIN });
          const dtls = await connectDtls({
            hostname: "127.0.0.1",
            port: server.port,
            serverName: "localhost",
            caCerts: [rootPem],
            provider,
            suites: [suite],
            encryptThenMac,
            retransmit: { initialTimeoutMs: 500, handshakeTimeoutMs: 20_000 },
          });
          try {
            const info = await dtls.handshake;
            assert.equal(info.suite.id, suite.id, tag);
            assert.equal(info.encryptThenMac, encryptThenMac, tag);
            assert.ok(info.extendedMasterSecret, tag);
            assert.ok(info.clientCertificateSent, tag);
            await dtls.send(encoder.encode(`from the chip ${tag}\n`));
            await server.printed(new RegExp(`from the chip ${tag}\\n`));
            await server.say(`to the chip ${tag}\n`);
            const { value } = await dtls.readable.getReader().read();
            assert.equal(decoder.decode(value), `to the chip ${tag}\n`);
            if (policy === "full") assertNoSecretSent(chip);
            else {
              assert.equal(
                chip.secretsForTesting().length,
                0,
                "hybrid keeps session secrets on the host",
              );
            }
          } finally {
            await dtls.close();
            await provider.close();
          }
          closes++;
          await server.printed(new RegExp("(?:DONE|shutting down)[\\s\\S]*".repeat(closes)));
        }
      }
    } finally {
      await server.stop();
    }
  });
}
