/**
 * The local peers of `@anchortls/testing`, checked against real openssl and gnutls-serv
 * and against our own client. Needs `openssl` and `gnutls-bin`.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { connectDtls, connectTls } from "@anchortls/client";
import {
  createTestPki,
  fixedPki,
  fixedPkiFile,
  freeUdpPort,
  PeerProcessError,
  startGnutlsServer,
  startOpenSslServer,
  startPeerProcess,
} from "./peers.ts";

async function opensslVerify(...args: string[]): Promise<string> {
  const out = await new Deno.Command("openssl", { args: ["verify", ...args] }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function tcpListening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("testing: createTestPki makes a chain openssl accepts, and removes it", async () => {
  const pki = await createTestPki();
  try {
    const purpose = ["-untrusted", pki.intermediate, "-CAfile", pki.root];
    assert.match(await opensslVerify(...purpose, "-purpose", "sslserver", pki.leaf), /: OK/);
    assert.match(await opensslVerify(...purpose, "-purpose", "sslserver", pki.ecLeaf), /: OK/);
    assert.match(await opensslVerify(...purpose, "-purpose", "sslclient", pki.ecClient), /: OK/);
    assert.match(await Deno.readTextFile(pki.ecLeafKey), /BEGIN PRIVATE KEY/);
    assert.equal((await Deno.readTextFile(pki.ecChain)).match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.match(await opensslVerify(...purpose, "-purpose", "sslclient", pki.client), /: OK/);
    assert.match(await opensslVerify("-CAfile", pki.cas, pki.client), /: OK/);
    assert.doesNotMatch(
      await opensslVerify(...purpose, "-purpose", "sslserver", pki.client),
      /: OK/,
      "the client certificate is not a server certificate",
    );
    const chain = await Deno.readTextFile(pki.chain);
    assert.equal(chain.match(/BEGIN CERTIFICATE/g)?.length, 2);
  } finally {
    await pki.remove();
  }
  assert.equal(await exists(pki.dir), false);
});

Deno.test("testing: createTestPki in a given directory removes only its own files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/keep.txt`, "mine");
    {
      await using pki = await createTestPki({ dir, bits: 2048, days: 1 });
      assert.equal(pki.dir, dir);
      assert.ok(await exists(pki.leafKey));
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["keep.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("testing: openssl s_server with EtM and EMS off, as our client sees it", async () => {
  await using pki = await createTestPki();
  const caCerts = [await Deno.readTextFile(pki.root)];
  const server = await startOpenSslServer({
    pki,
    encryptThenMac: false,
    extendedMasterSecret: false,
    ciphers: ["AES256-SHA"],
  });
  try {
    const tls = await connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts,
      serverName: "localhost",
    });
    const info = await tls.handshake;
    assert.equal(info.suite.name, "TLS_RSA_WITH_AES_256_CBC_SHA");
    assert.equal(info.encryptThenMac, false);
    assert.equal(info.extendedMasterSecret, false);
    await tls.close();
    assert.match(server.output(), /ACCEPT/);
  } finally {
    await server.stop();
    await server.stop(); // idempotent
  }
  assert.equal(server.exited, true);
  assert.equal(await tcpListening(server.port), false);
});

Deno.test("testing: openssl s_server -quiet relays the client's bytes to onStdout", async () => {
  await using pki = await createTestPki();
  const received: Uint8Array[] = [];
  await using server = await startOpenSslServer({
    pki,
    mode: "quiet",
    onStdout: (chunk) => received.push(chunk),
  });
  const tls = await connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [await Deno.readTextFile(pki.root)],
    serverName: "localhost",
  });
  const writer = tls.writable.getWriter();
  await writer.write(new TextEncoder().encode("through the relay\n"));
  await server.write("and back\n");
  const reader = tls.readable.getReader();
  const { value } = await reader.read();
  assert.equal(new TextDecoder().decode(value), "and back\n");
  for (let i = 0; i < 100 && received.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(new TextDecoder().decode(received[0]), "through the relay\n");
  reader.releaseLock();
  writer.releaseLock();
  await tls.close();
});

Deno.test("testing: openssl s_server -brief with the fixed PKI: data to onStdout, summary in output()", async () => {
  assert.match(
    await opensslVerify(
      "-CAfile",
      fixedPki.root,
      "-untrusted",
      fixedPki.intermediate,
      fixedPki.leaf,
    ),
    /: OK/,
  );
  assert.equal(fixedPkiFile("leaf.pem"), fixedPki.leaf);
  let received = "";
  let stops = 0;
  await using server = await startOpenSslServer({
    pki: fixedPki,
    mode: "brief",
    ciphers: ["AES256-SHA256"],
    onStdout: (chunk) => received += new TextDecoder().decode(chunk),
    onStop: () => Promise.resolve(void stops++),
  });
  const tls = await connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [await Deno.readTextFile(fixedPki.root)],
    serverName: "localhost",
  });
  const writer = tls.writable.getWriter();
  await writer.write(new TextEncoder().encode("briefly\n"));
  await server.waitFor(/Ciphersuite: AES256-SHA256/);
  for (let i = 0; i < 100 && received === ""; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(received, "briefly\n");
  assert.doesNotMatch(server.output(), /briefly/);
  writer.releaseLock();
  await tls.close();
  await server.stop();
  await server.stop();
  assert.equal(stops, 1);
});

Deno.test("testing: freeUdpPort gives a port that IPv4 loopback can bind", async () => {
  const port = await freeUdpPort();
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, "127.0.0.1", resolve);
  });
  assert.equal(socket.address().port, port);
  await new Promise<void>((resolve) => socket.close(() => resolve()));
});

Deno.test("testing: DTLS servers from openssl and gnutls-serv complete a connectDtls handshake", async () => {
  await using pki = await createTestPki();
  const caCerts = [await Deno.readTextFile(pki.root)];
  await using openssl = await startOpenSslServer({ pki, dtls: true, mtu: 1400 });
  await using gnutls = await startGnutlsServer({ pki, dtls: true });
  for (const server of [openssl, gnutls]) {
    const dtls = await connectDtls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts,
      serverName: "localhost",
    });
    assert.equal((await dtls.handshake).version, "TLSv1.2");
    await dtls.close();
  }
  const dtls = await connectDtls({
    hostname: "127.0.0.1",
    port: gnutls.port,
    caCerts,
    serverName: "localhost",
  });
  const writer = dtls.writable.getWriter();
  await writer.write(new TextEncoder().encode("echo me"));
  const { value } = await dtls.readable.getReader().read();
  assert.equal(new TextDecoder().decode(value), "echo me");
  await dtls.close();
});

Deno.test("testing: gnutls-serv TLS requiring a client certificate", async () => {
  await using pki = await createTestPki();
  await using server = await startGnutlsServer({
    pki: { ...pki, root: pki.cas },
    clientCertificate: "require",
    ciphers: "+AES-128-CBC:+SHA1",
  });
  const tls = await connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    caCerts: [await Deno.readTextFile(pki.root)],
    serverName: "localhost",
    clientCertificate: {
      certificateChain: await Deno.readTextFile(pki.clientChain),
      privateKey: await Deno.readTextFile(pki.clientKey),
    },
  });
  const info = await tls.handshake;
  assert.equal(info.suite.name, "TLS_RSA_WITH_AES_128_CBC_SHA");
  assert.equal(info.clientCertificateSent, true);
  await tls.close();
});

Deno.test("testing: a peer that cannot start or exits early is a PeerProcessError", async () => {
  await assert.rejects(
    startPeerProcess("anchortls-no-such-program", { args: [], ready: { output: /never/ } }),
    PeerProcessError,
  );
  await assert.rejects(
    startPeerProcess("openssl", { args: ["version"], ready: { output: /ACCEPT (\d+)/ } }),
    (e) => e instanceof PeerProcessError && /exited before printing/.test(e.message),
  );
  await assert.rejects(
    startPeerProcess("openssl", { args: ["version"], ready: { port: 1, transport: "tcp" } }),
    PeerProcessError,
  );
  await using pki = await createTestPki();
  await assert.rejects(startOpenSslServer({ pki, dtls: true, mode: "www" }), TypeError);
});

Deno.test("testing: maxOutput keeps only the latest output of a chatty server", async () => {
  await using server = await startGnutlsServer({ pki: fixedPki, maxOutput: 2000 });
  const tls = await connectTls({
    hostname: "127.0.0.1",
    port: server.port,
    serverName: "localhost",
    caCerts: [await Deno.readTextFile(fixedPki.root)],
  });
  const writer = tls.writable.getWriter();
  const reader = tls.readable.getReader();
  // gnutls-serv --echo logs every line twice; 20 lines of 400 bytes are far more than 2000.
  for (let i = 0; i < 20; i++) {
    await writer.write(new TextEncoder().encode(`${String(i).padStart(399, "x")}\n`));
    await reader.read();
  }
  await server.waitFor(/x{300}19\n/);
  // At most 2000 characters besides the oldest chunk kept, here a few lines of about 420.
  assert.ok(server.output().length < 3500, `kept ${server.output().length}`);
  assert.doesNotMatch(server.output(), /x{300}0\n/, "the first line is gone");
  reader.releaseLock();
  writer.releaseLock();
  await tls.close();
});
