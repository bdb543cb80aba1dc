/**
 * The ECDHE and AEAD suites (issue 16) against real servers: every suite in TLS 1.2 and DTLS
 * 1.2 against `openssl s_server` and `gnutls-serv`, with the test PKI's RSA leaf for the RSA
 * and ECDHE_RSA suites and its P-256 leaf for ECDHE_ECDSA; a resumed session per suite, TLS
 * and DTLS; client authentication with ECDSA P-256 and P-384 keys; and 1 MiB each way with
 * SHA-256 compared, TLS and DTLS, against both servers (over UDP paced by the test or resent
 * from the echo, since DTLS itself keeps no data).
 *
 * Needs `openssl` and `gnutls-serv` on PATH.
 */

import assert from "node:assert/strict";
import { SessionCache } from "@anchortls/handshake";
import { type CipherSuite, CipherSuites } from "@anchortls/record";
import {
  fixedEcPki,
  fixedPki,
  fixedPkiFile,
  OPENSSL_CIPHER_NAMES,
  type PeerProcess,
  type ServerIdentity,
  startGnutlsServer,
  startOpenSslServer,
} from "@anchortls/testing";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  connectTls,
  type ConnectTlsOptions,
  type DtlsConnection,
  type TlsConnection,
} from "../mod.ts";
import { connectToPeer } from "./_dtls_connect.ts";

const root = await Deno.readTextFile(fixedPkiFile("root.pem"));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Every suite but the four RSA AES-CBC ones the older interop tests cover. */
const NEW_SUITES: readonly CipherSuite[] = Object.values(CipherSuites).filter((s) =>
  s.kind === "aead" || s.keyExchange !== "rsa"
);
const opensslName = (s: CipherSuite): string =>
  OPENSSL_CIPHER_NAMES[s.name as keyof typeof OPENSSL_CIPHER_NAMES];

/** The suites a server with this leaf can speak, and the leaf. */
const BY_LEAF: readonly { pki: ServerIdentity; suites: readonly CipherSuite[] }[] = [
  { pki: fixedPki, suites: NEW_SUITES.filter((s) => s.keyExchange !== "ecdhe_ecdsa") },
  { pki: fixedEcPki, suites: NEW_SUITES.filter((s) => s.keyExchange === "ecdhe_ecdsa") },
];

const GNUTLS_KX = "+ECDHE-ECDSA:+ECDHE-RSA:+RSA";
const GNUTLS_CIPHERS = [
  "+AES-128-GCM",
  "+AES-256-GCM",
  "+CHACHA20-POLY1305",
  "+AES-128-CCM",
  "+AES-128-CCM-8",
  "+AES-128-CBC",
  "+AES-256-CBC",
  "+AEAD",
  "+SHA1",
  "+SHA256",
  "+SHA384",
].join(":");

function base(peer: PeerProcess): ConnectTlsOptions {
  return { hostname: "127.0.0.1", port: peer.port, serverName: "localhost", caCerts: [root] };
}

/** GETs the `-www` status page. */
async function statusPage(options: ConnectTlsOptions) {
  const tls = await connectTls(options);
  try {
    const info = await tls.handshake;
    const writer = tls.writable.getWriter();
    await writer.write(encoder.encode("GET / HTTP/1.0\r\n\r\n"));
    writer.releaseLock();
    return { info, page: await new Response(tls.readable).text() };
  } finally {
    await tls.close();
  }
}

async function readUntil(
  readable: ReadableStream<Uint8Array>,
  text: string,
): Promise<string> {
  const reader = readable.getReader();
  let seen = "";
  try {
    while (!seen.includes(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended before ${JSON.stringify(text)}: ${seen}`);
      seen += decoder.decode(value);
    }
    return seen;
  } finally {
    reader.releaseLock();
  }
}

async function writeLine(writable: WritableStream<Uint8Array>, line: string): Promise<void> {
  const writer = writable.getWriter();
  await writer.write(encoder.encode(line));
  writer.releaseLock();
}

const ecClient = async (file: "ec-client" | "ec-client-p384") => ({
  certificateChain: (await Deno.readTextFile(fixedPkiFile(`${file}.pem`))) +
    (await Deno.readTextFile(fixedPkiFile("intermediate.pem"))),
  privateKey: await Deno.readTextFile(fixedPkiFile(`${file}.key`)),
});

for (const { pki, suites } of BY_LEAF) {
  Deno.test(`openssl s_server, ${pki.leaf.split("/").at(-1)}: every suite, then a resumed session`, async () => {
    await using peer = await startOpenSslServer({ pki, ciphers: suites.map(opensslName) });
    for (const suite of suites) {
      const session = new SessionCache();
      const first = await statusPage({ ...base(peer), suites: [suite], session });
      assert.equal(first.info.suite, suite);
      assert.equal(first.info.encryptThenMac, suite.kind === "cbc");
      assert.equal(first.info.extendedMasterSecret, true);
      assert.match(first.page, new RegExp(`New, TLSv1\\.[02], Cipher is ${opensslName(suite)}\\b`));
      const second = await statusPage({ ...base(peer), suites: [suite], session });
      assert.equal(second.info.resumed, true, suite.name);
      assert.match(
        second.page,
        new RegExp(`Reused, TLSv1\\.[02], Cipher is ${opensslName(suite)}\\b`),
      );
      session.clear();
    }
  });

  Deno.test(`gnutls-serv, ${pki.leaf.split("/").at(-1)}: every suite echoes, then a resumed session`, async () => {
    await using peer = await startGnutlsServer({
      pki,
      keyExchanges: GNUTLS_KX,
      ciphers: GNUTLS_CIPHERS,
      clientCertificate: "none",
    });
    for (const suite of suites) {
      await echoFullThenResumed(
        suite,
        (session) => connectTls({ ...base(peer), suites: [suite], session }),
      );
    }
  });

  Deno.test(`DTLS openssl s_server, ${pki.leaf.split("/").at(-1)}: every suite, data both ways, then a resumed session`, async () => {
    await using peer = await startOpenSslServer({
      pki,
      dtls: true,
      mtu: 1400,
      ciphers: suites.map(opensslName),
    });
    let closes = 0;
    for (const suite of suites) {
      const session = new SessionCache();
      for (const resumed of [false, true]) {
        const dtls = await connectToPeer(peer, { suites: [suite], session });
        try {
          const info = await dtls.handshake;
          assert.equal(info.suite, suite);
          assert.equal(info.resumed, resumed, suite.name);
          assert.equal(info.encryptThenMac, suite.kind === "cbc");
          await exchange(peer, dtls, `${suite.name}-${resumed}`);
        } finally {
          await dtls.close();
        }
        // s_server reports our close_notify before it takes the next client.
        closes++;
        await peer.waitFor(new RegExp(`(?:DONE|shutting down)[\\s\\S]*`.repeat(closes)));
      }
    }
    assert.equal(peer.output().match(/Reused session-id/g)?.length, suites.length);
  });

  Deno.test(`DTLS gnutls-serv, ${pki.leaf.split("/").at(-1)}: every suite echoes, then a resumed session`, async () => {
    await using peer = await startGnutlsServer({
      pki,
      dtls: true,
      keyExchanges: GNUTLS_KX,
      ciphers: GNUTLS_CIPHERS,
      clientCertificate: "none",
    });
    for (const suite of suites) {
      await echoFullThenResumed(
        suite,
        (session) => connectToPeer(peer, { suites: [suite], session }),
      );
    }
  });
}

/**
 * Two connections to an echo server under one suite and one session cache: a full handshake,
 * then a resumed one, each echoing a line.
 */
async function echoFullThenResumed(
  suite: CipherSuite,
  connect: (session: SessionCache) => Promise<TlsConnection | DtlsConnection>,
): Promise<void> {
  const session = new SessionCache();
  for (const resumed of [false, true]) {
    const connection = await connect(session);
    try {
      const info = await connection.handshake;
      assert.equal(info.suite, suite);
      assert.equal(info.resumed, resumed, suite.name);
      const line = `${suite.name} ${resumed}\n`;
      await writeLine(connection.writable, line);
      await readUntil(connection.readable, line);
    } finally {
      await connection.close();
    }
  }
}

/** One line each way: ours shows in s_server's output, its stdin line reaches us. */
async function exchange(peer: PeerProcess, dtls: DtlsConnection, tag: string): Promise<void> {
  await writeLine(dtls.writable, `ping ${tag}\n`);
  await peer.waitFor(new RegExp(`ping ${tag}\\n`));
  await peer.write(encoder.encode(`pong ${tag}\n`));
  await readUntil(dtls.readable, `pong ${tag}\n`);
}

Deno.test("openssl s_server: client authentication with ECDSA P-256 and P-384 keys, TLS and DTLS", async () => {
  for (const dtls of [false, true]) {
    await using peer = await startOpenSslServer({
      pki: fixedEcPki,
      dtls,
      mtu: 1400,
      mode: dtls ? "stdin" : "www",
      clientCertificate: "require",
      ciphers: ["ECDHE-ECDSA-AES128-GCM-SHA256"],
    });
    for (const [file, bits] of [["ec-client", 256], ["ec-client-p384", 384]] as const) {
      const clientCertificate = await ecClient(file);
      if (dtls) {
        const connection = await connectToPeer(peer, { clientCertificate });
        try {
          assert.equal((await connection.handshake).clientCertificateSent, true);
          await exchange(peer, connection, `${file}`);
        } finally {
          await connection.close();
        }
        await peer.waitFor(new RegExp(`Peer signing digest: SHA${bits}`));
      } else {
        const { info, page } = await statusPage({ ...base(peer), clientCertificate });
        assert.equal(info.clientCertificateSent, true);
        assert.equal(info.suite, CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
        assert.match(page, /Client certificate/);
        assert.match(page, new RegExp(`Peer signing digest: SHA${bits}`));
      }
    }
  }
});

Deno.test("gnutls-serv: client authentication with ECDSA P-256 and P-384 keys over ECDHE_RSA and ECDHE_ECDSA, TLS and DTLS", async () => {
  for (const dtls of [false, true]) {
    for (const pki of [fixedPki, fixedEcPki]) {
      await using peer = await startGnutlsServer({
        pki,
        dtls,
        keyExchanges: GNUTLS_KX,
        ciphers: GNUTLS_CIPHERS,
        clientCertificate: "require",
      });
      for (const key of ["ec-client", "ec-client-p384"] as const) {
        const clientCertificate = await ecClient(key);
        const connection = dtls
          ? await connectToPeer(peer, { clientCertificate })
          : await connectTls({ ...base(peer), clientCertificate });
        try {
          const info = await connection.handshake;
          assert.equal(info.clientCertificateSent, true);
          assert.equal(info.suite.kind, "aead");
          await writeLine(connection.writable, `authenticated ${key}\n`);
          await readUntil(connection.readable, `authenticated ${key}\n`);
        } finally {
          await connection.close();
        }
      }
    }
  }
});

/** 1 MiB each way through `s_server -brief`, hashed on both sides. */
async function transferMiB(suite: CipherSuite): Promise<void> {
  const fromClient = sha256.create();
  let fromClientLength = 0;
  const pki = suite.keyExchange === "ecdhe_ecdsa" ? fixedEcPki : fixedPki;
  await using peer = await startOpenSslServer({
    pki,
    mode: "brief",
    ciphers: [opensslName(suite)],
    onStdout: (chunk) => {
      fromClient.update(chunk);
      fromClientLength += chunk.length;
    },
  });
  const size = 1 << 20;
  const toServer = crypto.getRandomValues(new Uint8Array(size).subarray(0, 65536));
  const toServerAll = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) toServerAll.set(toServer, at);
  toServerAll[size - 1] = 0x5a;
  const toClient = toServerAll.map((b, i) => b ^ (i & 0xff));
  const tls = await connectTls({ ...base(peer), suites: [suite] });
  try {
    await tls.handshake;
    const writer = tls.writable.getWriter();
    const sending = (async () => {
      for (let at = 0; at < size; at += 50_000) {
        await writer.write(toServerAll.subarray(at, at + 50_000));
      }
    })();
    const serverSending = (async () => {
      for (let at = 0; at < size; at += 64_000) {
        await peer.write(toClient.subarray(at, at + 64_000));
      }
    })();
    const received = sha256.create();
    let length = 0;
    const reader = tls.readable.getReader();
    while (length < size) {
      const { value, done } = await reader.read();
      if (done) break;
      received.update(value);
      length += value.length;
    }
    reader.releaseLock();
    await Promise.all([sending, serverSending]);
    assert.equal(length, size);
    assert.equal(received.digest().toHex(), sha256(toClient).toHex());
    const deadline = Date.now() + 10_000;
    while (fromClientLength < size && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(fromClientLength, size);
    assert.equal(fromClient.digest().toHex(), sha256(toServerAll).toHex());
    assert.match(peer.output(), new RegExp(`Ciphersuite: ${opensslName(suite)}\\b`));
  } finally {
    await tls.close();
  }
}

for (const suite of NEW_SUITES) {
  Deno.test(`openssl s_server: 1 MiB each way under ${suite.name}, SHA-256 equal on both sides`, async () => {
    await transferMiB(suite);
  });
}

/**
 * 1 MiB each way over DTLS through `gnutls-serv -u --echo`: numbered messages, each as big
 * as one datagram takes, at most `WINDOW` unanswered; UDP promises no delivery, so a message
 * whose echo is late is sent again (the application's job over DTLS, as CoAP's confirmable
 * messages do). The echoes, in index order, must hash as what was sent.
 */
async function transferMiBDtls(suite: CipherSuite): Promise<void> {
  const WINDOW = 32;
  const size = 1 << 20;
  await using peer = await startGnutlsServer({
    pki: suite.keyExchange === "ecdhe_ecdsa" ? fixedEcPki : fixedPki,
    dtls: true,
    keyExchanges: GNUTLS_KX,
    ciphers: GNUTLS_CIPHERS,
    clientCertificate: "none",
  });
  const dtls = await connectToPeer(peer, { suites: [suite] });
  try {
    await dtls.handshake;
    // gnutls-serv's DTLS echo reads into a 255-byte buffer (udp-serv.c): at most 254 bytes
    // of a message come back.
    const payload = 254 - 4;
    const count = Math.ceil(size / payload);
    const data = crypto.getRandomValues(new Uint8Array(65536));
    const message = (index: number): Uint8Array => {
      const length = Math.min(payload, size - index * payload);
      const m = new Uint8Array(4 + length);
      new DataView(m.buffer).setUint32(0, index);
      for (let i = 0; i < length; i++) m[4 + i] = data[(index * payload + i) & 0xffff]!;
      return m;
    };
    const echoed = new Map<number, Uint8Array>();
    const sentAt = new Map<number, number>();
    const writer = dtls.writable.getWriter();
    const reader = dtls.readable.getReader();
    let next = 0;
    let resent = 0;
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
    while (echoed.size < count) {
      while (next < count && sentAt.size < WINDOW) {
        sentAt.set(next, Date.now());
        await writer.write(message(next++));
      }
      pending ??= reader.read();
      const tick = new Promise<"tick">((r) => setTimeout(() => r("tick"), 200));
      const got = await Promise.race([pending, tick]);
      if (got === "tick") {
        for (const [index, at] of sentAt) {
          if (Date.now() - at < 200) continue;
          sentAt.set(index, Date.now());
          resent++;
          await writer.write(message(index));
        }
        continue;
      }
      pending = undefined;
      if (got.done) throw new Error("DTLS stream ended early");
      const index = new DataView(got.value.buffer, got.value.byteOffset).getUint32(0);
      assert.ok(index < count, `an echo with index ${index}`);
      if (!echoed.has(index)) echoed.set(index, got.value.subarray(4));
      sentAt.delete(index);
    }
    writer.releaseLock();
    reader.releaseLock();
    const received = sha256.create();
    let length = 0;
    for (let i = 0; i < count; i++) {
      received.update(echoed.get(i)!);
      length += echoed.get(i)!.length;
    }
    const sent = sha256.create();
    for (let i = 0; i < count; i++) sent.update(message(i).subarray(4));
    assert.equal(length, size);
    assert.equal(received.digest().toHex(), sent.digest().toHex());
    assert.ok(resent < count / 10, `${resent} of ${count} messages sent again`);
  } finally {
    await dtls.close();
  }
}

for (const suite of NEW_SUITES) {
  Deno.test(`DTLS gnutls-serv: 1 MiB each way under ${suite.name}, SHA-256 equal`, async () => {
    await transferMiBDtls(suite);
  });
}

/**
 * 1 MiB each way over TLS through `gnutls-serv --echo`: 1024 lines of random hex text (its echo
 * works line by line, within a 1 KiB buffer), written in 50 000-byte pieces while the echo is
 * read back; what comes back must hash as what went out.
 */
async function transferMiBGnutls(suite: CipherSuite): Promise<void> {
  await using peer = await startGnutlsServer({
    pki: suite.keyExchange === "ecdhe_ecdsa" ? fixedEcPki : fixedPki,
    keyExchanges: GNUTLS_KX,
    ciphers: GNUTLS_CIPHERS,
    clientCertificate: "none",
  });
  const size = 1 << 20;
  const line = 1024;
  const toServer = new Uint8Array(size);
  for (let at = 0; at < size; at += line) {
    const text = crypto.getRandomValues(new Uint8Array((line - 1) / 2 + 1)).toHex();
    toServer.set(encoder.encode(text.slice(0, line - 1) + "\n"), at);
  }
  const tls = await connectTls({ ...base(peer), suites: [suite] });
  try {
    assert.equal((await tls.handshake).suite, suite);
    const writer = tls.writable.getWriter();
    const sending = (async () => {
      for (let at = 0; at < size; at += 50_000) {
        await writer.write(toServer.subarray(at, at + 50_000));
      }
    })();
    const echoed = sha256.create();
    let length = 0;
    const reader = tls.readable.getReader();
    while (length < size) {
      const { value, done } = await reader.read();
      if (done) break;
      echoed.update(value);
      length += value.length;
    }
    reader.releaseLock();
    await sending;
    writer.releaseLock();
    assert.equal(length, size);
    assert.equal(echoed.digest().toHex(), sha256(toServer).toHex());
  } finally {
    await tls.close();
  }
}

for (const suite of NEW_SUITES) {
  Deno.test(`gnutls-serv: 1 MiB each way under ${suite.name}, SHA-256 equal`, async () => {
    await transferMiBGnutls(suite);
  });
}

/** Waits until `ready()` holds, polling; fails with `what` after `ms`. */
async function until(ready: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !ready();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * 1 MiB each way over DTLS with `openssl s_server -dtls1_2 -brief`: our datagrams show on its
 * stdout, its stdin comes back to us as records. UDP keeps no data, and s_server has no echo to
 * resend from, so both directions are paced by the test (at most `WINDOW` bytes beyond what the
 * other side has shown) to keep the loopback socket buffers from overflowing; each side's
 * SHA-256 must match what the other sent.
 */
async function transferMiBDtlsOpenSsl(suite: CipherSuite): Promise<void> {
  const WINDOW = 32 * 1024;
  const size = 1 << 20;
  const fromClient = sha256.create();
  let fromClientLength = 0;
  await using peer = await startOpenSslServer({
    pki: suite.keyExchange === "ecdhe_ecdsa" ? fixedEcPki : fixedPki,
    dtls: true,
    mtu: 1400,
    mode: "brief",
    ciphers: [opensslName(suite)],
    onStdout: (chunk) => {
      fromClient.update(chunk);
      fromClientLength += chunk.length;
    },
  });
  const random = (): Uint8Array => {
    const out = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
    return out;
  };
  const toServer = random();
  const toClient = random();
  const dtls = await connectToPeer(peer, { suites: [suite] });
  try {
    assert.equal((await dtls.handshake).suite, suite);
    const piece = dtls.maxMessageLength;
    const writer = dtls.writable.getWriter();
    for (let at = 0; at < size; at += piece) {
      await until(() => at - fromClientLength <= WINDOW, `s_server to print byte ${at}`);
      await writer.write(toServer.subarray(at, at + piece));
    }
    await until(() => fromClientLength >= size, "s_server to print the whole MiB");
    writer.releaseLock();
    assert.equal(fromClientLength, size);
    assert.equal(fromClient.digest().toHex(), sha256(toServer).toHex());

    const received = sha256.create();
    let receivedLength = 0;
    const reader = dtls.readable.getReader();
    const reading = (async () => {
      while (receivedLength < size) {
        const { value, done } = await reader.read();
        if (done) break;
        received.update(value);
        receivedLength += value.length;
      }
    })();
    for (let at = 0; at < size; at += 4096) {
      await until(() => at - receivedLength <= WINDOW, `our client to receive byte ${at}`);
      await peer.write(toClient.subarray(at, at + 4096));
    }
    await Promise.race([
      reading,
      until(() => false, "the whole MiB from s_server").catch((e) => {
        reader.cancel().catch(() => {});
        throw e;
      }),
    ]);
    reader.releaseLock();
    assert.equal(receivedLength, size);
    assert.equal(received.digest().toHex(), sha256(toClient).toHex());
  } finally {
    await dtls.close();
  }
}

for (const suite of NEW_SUITES) {
  Deno.test(`DTLS openssl s_server: 1 MiB each way under ${suite.name}, SHA-256 equal on both sides`, async () => {
    await transferMiBDtlsOpenSsl(suite);
  });
}
