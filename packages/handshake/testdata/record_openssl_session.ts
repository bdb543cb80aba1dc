/**
 * Records one TLS 1.2 session with `openssl s_server -www` for `replay_test.ts`: the client's
 * randomness is seeded, so its bytes are reproducible, and the server's bytes are captured.
 * Run from the repository root: `deno run -A packages/handshake/testdata/record_openssl_session.ts`.
 *
 * @module
 */

import { parseCertificate, parsePem } from "@anchortls/x509";
import { driveClient, seededRandom } from "../_record_driver.ts";
import { SoftwareCryptoProvider } from "../software_provider.ts";

const pki = (name: string) => new URL(`../../x509/testdata/${name}`, import.meta.url).pathname;
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = (listener.addr as Deno.NetAddr).port;
listener.close();
const server = new Deno.Command("openssl", {
  args: [
    ["s_server", "-accept", `127.0.0.1:${port}`, "-tls1_2", "-www", "-cipher", "AES128-SHA256"],
    ["-cert", pki("leaf.pem"), "-cert_chain", pki("intermediate.pem"), "-key", pki("leaf.key")],
  ].flat(),
  stdout: "piped",
  stderr: "null",
}).spawn();
const out = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
for (let seen = ""; !seen.includes("ACCEPT");) seen += (await out.read()).value ?? "";

const rootPem = await Deno.readTextFile(pki("root.pem"));
const seed = 0x2a2a2a2a;
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
  const recording = {
    description: "openssl s_server -tls1_2 -www -cipher AES128-SHA256, OpenSSL 3.0",
    seed,
    now,
    rootPem,
    suite: info.suite.id,
    encryptThenMac: info.encryptThenMac,
    extendedMasterSecret: info.extendedMasterSecret,
    client: new Uint8Array(client).toHex(),
    server: new Uint8Array(serverBytes).toHex(),
    response: new TextDecoder().decode(response),
  };
  await Deno.writeTextFile(
    new URL("./openssl_session.json", import.meta.url),
    JSON.stringify(recording, null, 1) + "\n",
  );
} finally {
  conn.close();
  server.kill();
  await server.status;
  await out.cancel();
}
