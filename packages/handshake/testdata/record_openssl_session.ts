/**
 * Records one TLS 1.2 session per suite with `openssl s_server -www` for `replay_test.ts`:
 * the client's randomness (hello random, premaster or ECDHE key, IVs) is seeded, so its bytes
 * are reproducible, and the server's bytes are captured. ECDHE_ECDSA suites run on the test
 * PKI's P-256 leaf, the rest on its RSA leaf. Run from the repository root:
 * `deno run -A packages/handshake/testdata/record_openssl_session.ts`.
 *
 * @module
 */

import { type CipherSuite, CipherSuites } from "@anchortls/record";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { driveClient, seededRandom } from "../_record_driver.ts";
import { SoftwareCryptoProvider } from "../software_provider.ts";

const pki = (name: string) => new URL(`../../x509/testdata/${name}`, import.meta.url).pathname;
const opensslName = (suite: CipherSuite): string =>
  new TextDecoder().decode(
    new Deno.Command("openssl", { args: ["ciphers", "-convert", suite.name] }).outputSync()
      .stdout,
  ).trim();

async function record(suite: CipherSuite, seed: number) {
  const ecdsa = suite.keyExchange === "ecdhe_ecdsa";
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const cipher = opensslName(suite);
  const server = new Deno.Command("openssl", {
    args: [
      ["s_server", "-accept", `127.0.0.1:${port}`, "-tls1_2", "-www", "-cipher", cipher],
      ["-cert", pki(ecdsa ? "ec-leaf.pem" : "leaf.pem"), "-cert_chain", pki("intermediate.pem")],
      ["-key", pki(ecdsa ? "ec-leaf.key" : "leaf.key")],
    ].flat(),
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const out = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  for (let seen = ""; !seen.includes("ACCEPT");) seen += (await out.read()).value ?? "";
  const now = Date.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const client: number[] = [];
  const serverBytes: number[] = [];
  try {
    const { info, response } = await driveClient(
      {
        provider: new SoftwareCryptoProvider({ random: seededRandom(seed) }),
        trustAnchors: parsePem(rootPem).map((der) => parseCertificate(der)),
        serverName: "localhost",
        suites: [suite],
        // As the replay offers: a recording without tickets stays valid whatever the default.
        sessionTickets: false,
      },
      now,
      {
        async write(bytes) {
          client.push(...bytes);
          for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
        },
        async read() {
          const buffer = new Uint8Array(65536);
          const n = await conn.read(buffer);
          if (n === null) return null;
          serverBytes.push(...buffer.subarray(0, n));
          return buffer.slice(0, n);
        },
      },
      new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"),
    );
    return {
      description: `openssl s_server -tls1_2 -www -cipher ${cipher}`,
      seed,
      now,
      suite: info.suite.name,
      encryptThenMac: info.encryptThenMac,
      extendedMasterSecret: info.extendedMasterSecret,
      client: new Uint8Array(client).toHex(),
      server: new Uint8Array(serverBytes).toHex(),
      response: new TextDecoder().decode(response),
    };
  } finally {
    conn.close();
    server.kill();
    await server.status;
    await out.cancel();
  }
}

const rootPem = await Deno.readTextFile(pki("root.pem"));
const version = new TextDecoder().decode(
  new Deno.Command("openssl", { args: ["version"] }).outputSync().stdout,
).trim();
const sessions = [];
for (const [i, suite] of Object.values(CipherSuites).entries()) {
  sessions.push(await record(suite, 0x2a2a2a2a + i));
}
await Deno.writeTextFile(
  new URL("./openssl_sessions.json", import.meta.url),
  JSON.stringify({ openssl: version, rootPem, sessions }, null, 1) + "\n",
);
