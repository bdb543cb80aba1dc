/**
 * TLS 1.2 handshake rate against a local `openssl s_server`: ours (`connectTls`, software
 * provider) against Node.js's `node:tls` (OpenSSL inside) doing the same loop in a `node`
 * subprocess, in the same run, against the same server, for three suites:
 * TLS_RSA_WITH_AES_128_CBC_SHA256 (RSA key transport, EtM), TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
 * and TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (x25519; the server holds the RSA and the P-256
 * certificate, `-dcert`).
 *
 * - full: TCP connect, full handshake (EMS on, the server chain validated), close_notify, close.
 * - resumed: the same with an abbreviated handshake resuming a session by ID (tickets are
 *   off in the node client so both resume the same way).
 *
 * The node side runs one handshake per line it reads on stdin and answers a line, so each of
 * its iterations also pays one pipe round trip (tens of µs, small next to a handshake).
 *
 * Run: `deno bench -A bench/handshake_bench.ts` (needs `openssl` and `node` on the PATH).
 *
 * @module
 */

import { connectTls, type ConnectTlsOptions } from "@anchortls/client";
import { fixedEcPki, fixedPki, startOpenSslServer } from "@anchortls/testing";
import { SessionCache } from "@anchortls/handshake";
import { CipherSuites } from "@anchortls/record";

async function readLine(reader: ReadableStreamDefaultReader<string>, buffer: { text: string }) {
  for (;;) {
    const newline = buffer.text.indexOf("\n");
    if (newline >= 0) {
      const line = buffer.text.slice(0, newline);
      buffer.text = buffer.text.slice(newline + 1);
      return line;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`process ended; output so far: ${buffer.text}`);
    buffer.text += value;
  }
}

const SUITES = [
  { name: "AES128-SHA256", suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256 },
  {
    name: "ECDHE-RSA-AES128-GCM-SHA256",
    suite: CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  },
  {
    name: "ECDHE-ECDSA-AES128-GCM-SHA256",
    suite: CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  },
] as const;

const server = await startOpenSslServer({
  pki: fixedPki,
  mode: "www",
  ciphers: SUITES.map((s) => s.name),
  extraArgs: [
    "-dcert",
    fixedEcPki.leaf,
    "-dkey",
    fixedEcPki.leafKey,
    "-dcert_chain",
    fixedEcPki.intermediate,
  ],
});
const port = server.port;

const nodeScript = `
const tls = require("node:tls");
const fs = require("node:fs");
const { SSL_OP_NO_TICKET } = require("node:crypto").constants;
const [port, rootPath] = process.argv.slice(1);
const ca = fs.readFileSync(rootPath);
const sessions = new Map();
function handshake(resume, ciphers) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1", port: Number(port), servername: "localhost", ca,
      minVersion: "TLSv1.2", maxVersion: "TLSv1.2", ciphers, ecdhCurve: "X25519:P-256",
      secureOptions: SSL_OP_NO_TICKET, session: resume ? sessions.get(ciphers) : undefined,
    }, () => {
      if (resume && !socket.isSessionReused()) return reject(new Error("not resumed"));
      socket.end();
      resolve();
    });
    socket.on("session", (s) => { sessions.set(ciphers, s); });
    socket.on("error", reject);
  });
}
let queue = Promise.resolve();
let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  pending += chunk;
  let i;
  while ((i = pending.indexOf("\\n")) >= 0) {
    const [command, ciphers] = pending.slice(0, i).split(" ");
    pending = pending.slice(i + 1);
    queue = queue.then(() => command === "ping" ? undefined : handshake(command === "resumed", ciphers))
      .then(() => process.stdout.write("ok\\n"), (e) => process.stdout.write("error " + e.message + "\\n"));
  }
});
process.stdin.on("end", () => queue.then(() => process.exit(0)));
`;
const node = new Deno.Command("node", {
  args: ["-e", nodeScript, String(port), fixedPki.root],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const nodeIn = node.stdin.getWriter();
const nodeOut = node.stdout.pipeThrough(new TextDecoderStream()).getReader();
const nodeBuffer = { text: "" };

async function nodeHandshake(kind: "full" | "resumed" | "ping", ciphers = ""): Promise<void> {
  await nodeIn.write(new TextEncoder().encode(`${kind} ${ciphers}\n`));
  const reply = await readLine(nodeOut, nodeBuffer);
  if (reply !== "ok") throw new Error(`node:tls ${kind} ${ciphers} handshake: ${reply}`);
}

const caCerts = [await Deno.readTextFile(fixedPki.root)];

for (const { name, suite } of SUITES) {
  const options: ConnectTlsOptions = {
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    caCerts,
    suites: [suite],
  };
  const sessions = new SessionCache();
  const ourHandshake = async (kind: "full" | "resumed" | "prime"): Promise<void> => {
    const tls = await connectTls(kind === "full" ? options : { ...options, session: sessions });
    const info = await tls.handshake;
    if (info.suite !== suite) throw new Error(`anchortls negotiated ${info.suite.name}`);
    if (kind === "resumed" && !info.resumed) throw new Error("anchortls did not resume");
    await tls.close();
  };
  // Prime both session caches so the resumed groups resume from their first iteration. The
  // resumed groups run first: s_server keeps a small session cache, and the hundreds of full
  // handshakes would push the primed sessions out of it.
  await nodeHandshake("full", name);
  await ourHandshake("prime");

  Deno.bench(`node:tls resumed ${name}`, { group: `resumed ${name}`, baseline: true }, async () => {
    await nodeHandshake("resumed", name);
  });
  Deno.bench(`anchortls resumed ${name}`, { group: `resumed ${name}` }, async () => {
    await ourHandshake("resumed");
  });
}

for (const { name } of SUITES) {
  const options: ConnectTlsOptions = {
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    caCerts,
    suites: [SUITES.find((s) => s.name === name)!.suite],
  };
  Deno.bench(`node:tls full ${name}`, { group: `full ${name}`, baseline: true }, async () => {
    await nodeHandshake("full", name);
  });
  Deno.bench(`anchortls full ${name}`, { group: `full ${name}` }, async () => {
    const tls = await connectTls(options);
    await tls.handshake;
    await tls.close();
  });
}

Deno.bench("node subprocess pipe round trip, no handshake", { group: "overhead" }, async () => {
  await nodeHandshake("ping");
});

globalThis.addEventListener("unload", () => {
  try {
    node.kill();
  } catch {
    // Already gone.
  }
  void server.stop();
});
