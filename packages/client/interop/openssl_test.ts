/**
 * Interop with `openssl s_server` (OpenSSL 3.0). Run with `deno test -A`; needs `openssl`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  alertForError,
  type HandshakeInfo,
  isSessionResumable,
  SessionCache,
} from "@anchortls/handshake";
import { CipherSuites, TlsAlertError } from "@anchortls/record";
import { CertificateError } from "@anchortls/x509";
import { sha256 } from "@noble/hashes/sha2.js";
import { connectTls, type ConnectTlsOptions, TruncationError } from "../mod.ts";
import { startTls } from "../advanced.ts";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { SoftwareCryptoProvider } from "@anchortls/handshake";
import {
  fixedPki,
  fixedPkiFile,
  OPENSSL_SUITE_NAMES,
  OPENSSL_SUITES,
  type OpenSslServerOptions,
  type PeerProcess,
  type ServerIdentity,
  startOpenSslServer,
} from "@anchortls/testing";
import { expiredServerCertificate, startRecordCorruptingProxy } from "./_faults.ts";

const root = await Deno.readTextFile(fixedPkiFile("root.pem"));
const tempDir = await Deno.makeTempDir({ prefix: "anchortls-interop-" });
const suitesByOpenSslName = new Map(OPENSSL_SUITES.map((s) => [s.openssl, s.suite]));

/** `openssl s_server -tls1_2` with the fixed test PKI unless another is given. */
function startOpenSsl(
  options: Omit<OpenSslServerOptions, "pki"> & { readonly pki?: ServerIdentity },
): Promise<PeerProcess> {
  return startOpenSslServer({ pki: fixedPki, ...options });
}

function base(peer: PeerProcess): ConnectTlsOptions {
  return { hostname: "127.0.0.1", port: peer.port, serverName: "localhost", caCerts: [root] };
}

/** GETs the `-www` status page. */
async function statusPage(options: ConnectTlsOptions) {
  const tls = await connectTls(options);
  try {
    const info = await tls.handshake;
    const writer = tls.writable.getWriter();
    await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    writer.releaseLock();
    const page = await new Response(tls.readable).text();
    return { info, page };
  } finally {
    await tls.close();
  }
}

/**
 * Connects through a proxy that corrupts the server's first data record, has the server send
 * a line, and expects the client to end with its own bad_record_mac.
 */
async function throughCorruptingProxy(
  peer: PeerProcess,
  options: Partial<ConnectTlsOptions>,
  check: (info: HandshakeInfo) => void,
  afterClose?: () => Promise<unknown>,
): Promise<void> {
  const proxy = startRecordCorruptingProxy(peer.port);
  try {
    const tls = await connectTls({ ...base(peer), port: proxy.port, ...options });
    try {
      check(await tls.handshake);
      await peer.write(new TextEncoder().encode("corrupted on the way\n"));
      await assert.rejects(
        new Response(tls.readable).arrayBuffer(),
        (e) => e instanceof TlsAlertError && !e.fromPeer && e.description === 20,
      );
    } finally {
      await tls.close();
    }
    // Still through the proxy: what the server says it received.
    await afterClose?.();
  } finally {
    await proxy.stop();
  }
}

async function withServer<T>(
  peer: Promise<PeerProcess>,
  body: (peer: PeerProcess) => Promise<T>,
): Promise<T> {
  const server = await peer;
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

for (const encryptThenMac of [true, false]) {
  for (const extendedMasterSecret of [true, false]) {
    Deno.test(`openssl s_server: every suite, EtM ${encryptThenMac ? "on" : "off"}, EMS ${extendedMasterSecret ? "on" : "off"}`, async () => {
      await withServer(
        startOpenSsl({ encryptThenMac, extendedMasterSecret }),
        async (peer) => {
          for (const name of OPENSSL_SUITE_NAMES) {
            const suite = suitesByOpenSslName.get(name)!;
            const { info, page } = await statusPage({ ...base(peer), suites: [suite] });
            assert.equal(info.suite, suite);
            assert.equal(info.encryptThenMac, encryptThenMac);
            assert.equal(info.extendedMasterSecret, extendedMasterSecret);
            assert.equal(info.resumed, false);
            assert.equal(info.secureRenegotiation, true);
            assert.match(page, new RegExp(`Cipher is ${name}\\b`));
            assert.match(
              page,
              new RegExp(`Extended master secret: ${extendedMasterSecret ? "yes" : "no"}`),
            );
          }
        },
      );
    });
  }
}

Deno.test("openssl s_server: client certificate required, RSA client key", async () => {
  await withServer(startOpenSsl({ clientCertificate: "require" }), async (peer) => {
    const { info, page } = await statusPage({
      ...base(peer),
      clientCertificate: {
        certificateChain: (await Deno.readTextFile(fixedPkiFile("client.pem"))) +
          (await Deno.readTextFile(fixedPkiFile("intermediate.pem"))),
        privateKey: await Deno.readTextFile(fixedPkiFile("client.key")),
      },
    });
    assert.equal(info.clientCertificateSent, true);
    assert.match(page, /Client certificate/);
    assert.match(peer.output(), /verify return:1/);

    // Without one, the server refuses and says so with an alert.
    const refused = await connectTls(base(peer));
    await assert.rejects(refused.handshake, (e) => e instanceof TlsAlertError && e.fromPeer);
    await refused.close();
    await peer.waitFor(/peer did not return a certificate/);
  });
});

Deno.test("openssl s_server: client certificate with PKCS#1 v1.5 when the server asks only for it", async () => {
  const extraArgs = ["-client_sigalgs", "RSA+SHA256"];
  await withServer(startOpenSsl({ clientCertificate: "require", extraArgs }), async (peer) => {
    const { info, page } = await statusPage({
      ...base(peer),
      clientCertificate: {
        certificateChain: (await Deno.readTextFile(fixedPkiFile("client.pem"))) +
          (await Deno.readTextFile(fixedPkiFile("intermediate.pem"))),
        privateKey: await Deno.readTextFile(fixedPkiFile("client.key")),
      },
    });
    assert.equal(info.clientCertificateSent, true);
    assert.match(page, /Client certificate/);
  });
});

Deno.test("openssl s_server: session resumption by session ID", async () => {
  await withServer(startOpenSsl({}), async (peer) => {
    const session = new SessionCache();
    const byId = { sessionTickets: false };
    const first = await statusPage({ ...base(peer), session, ...byId });
    assert.equal(first.info.resumed, false);
    assert.match(first.page, /New, TLSv1.2/);
    assert.equal(session.size, 1);
    const second = await statusPage({ ...base(peer), session, ...byId });
    assert.equal(second.info.resumed, true);
    assert.match(second.page, /Reused, TLSv1.2/);
    assert.equal(second.info.suite, first.info.suite);
    assert.deepEqual(second.info.peerCertificates, first.info.peerCertificates);
    session.clear();
  });
});

Deno.test("openssl s_server: 1 MiB each way, SHA-256 equal on both sides", async () => {
  const fromClient = sha256.create();
  let fromClientLength = 0;
  await withServer(
    startOpenSsl({
      mode: "brief",
      ciphers: ["AES256-SHA256"],
      onStdout: (chunk) => {
        fromClient.update(chunk);
        fromClientLength += chunk.length;
      },
    }),
    async (peer) => {
      const size = 1 << 20;
      const toServer = randomBytes(size);
      const toClient = randomBytes(size);
      const tls = await connectTls({
        ...base(peer),
        suites: [CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256],
      });
      try {
        await tls.handshake;
        const writer = tls.writable.getWriter();
        const sending = (async () => {
          for (let at = 0; at < size; at += 50_000) {
            await writer.write(
              toServer.subarray(at, at + 50_000),
            );
          }
        })();
        const serverSending = (async () => {
          for (let at = 0; at < size; at += 64_000) {
            await peer.write(
              toClient.subarray(at, at + 64_000),
            );
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
        assert.equal(fromClient.digest().toHex(), sha256(toServer).toHex());
        assert.match(peer.output(), /Ciphersuite: AES256-SHA256/);
      } finally {
        await tls.close();
      }
    },
  );
});

Deno.test("openssl s_server: a server that dies without close_notify is a truncation", async () => {
  const peer = await startOpenSsl({ mode: "brief" });
  const tls = await connectTls(base(peer));
  try {
    await tls.handshake;
    await peer.stop();
    await assert.rejects(new Response(tls.readable).arrayBuffer(), TruncationError);
  } finally {
    await tls.close();
    await peer.stop();
  }
});

Deno.test("openssl s_server: a renegotiation request gets a no_renegotiation warning", async () => {
  await withServer(
    startOpenSsl({ mode: "stdin", extraArgs: ["-msg"] }),
    async (peer) => {
      const tls = await connectTls(base(peer));
      try {
        await tls.handshake;
        await peer.write(new TextEncoder().encode("r\n"));
        await peer.waitFor(/HelloRequest/);
        // OpenSSL answers our refusal with a fatal handshake_failure of its own.
        await assert.rejects(
          new Response(tls.readable).arrayBuffer(),
          (e) => e instanceof TlsAlertError && e.fromPeer && e.description === 40,
        );
        await peer.waitFor(/<<< TLS 1.2, Alert \[length 0002\], warning no_renegotiation/);
      } finally {
        await tls.close();
      }
    },
  );
});

Deno.test("openssl s_server: a record that fails its MAC is bad_record_mac on both sides", async () => {
  for (const encryptThenMac of [true, false]) {
    await withServer(startOpenSsl({ encryptThenMac, mode: "stdin" }), async (peer) => {
      await throughCorruptingProxy(
        peer,
        {},
        (info) => assert.equal(info.encryptThenMac, encryptThenMac),
        () => peer.waitFor(/SSL alert number 20/),
      );
    });
  }
});

Deno.test("openssl s_server: nothing is read from the socket while nobody reads", async () => {
  await withServer(startOpenSsl({ mode: "brief" }), async (peer) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: peer.port });
    let pulled = 0;
    const tls = startTls({
      readable: new ReadableStream<Uint8Array>({
        async pull(controller) {
          const buffer = new Uint8Array(65536);
          const n = await conn.read(buffer);
          if (n === null) return controller.close();
          pulled += n;
          controller.enqueue(buffer.subarray(0, n));
        },
      }),
      writable: new WritableStream({
        async write(chunk) {
          for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
        },
      }),
      close: () => conn.close(),
    }, {
      provider: new SoftwareCryptoProvider(),
      trustAnchors: parsePem(root).map((der) => parseCertificate(der)),
      serverName: "localhost",
    });
    try {
      await tls.handshake;
      const handshakeBytes = pulled;
      const size = 8 << 20;
      const feeding = peer.write(randomBytes(size)).catch(() => {});
      // Let the server send while we do not read: first until its data starts to arrive (a
      // loaded machine may take a while to start s_server's stdin pump), then until the pulled
      // count stops moving.
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const dataPulled = () => pulled - handshakeBytes;
      for (const deadline = Date.now() + 10_000; dataPulled() < 8192 && Date.now() < deadline;) {
        await sleep(20);
      }
      let last = -1;
      while (pulled !== last) {
        last = pulled;
        await sleep(300);
      }
      // Data did arrive (beyond the handshake: how much of it one socket read takes depends on
      // how TCP cut it, a record or more), and only a bounded amount was taken in.
      assert.ok(dataPulled() >= 8192, `only ${dataPulled()} bytes of data arrived`);
      assert.ok(pulled < 512 * 1024, `${pulled} bytes pulled from the socket with no reader`);
      let received = 0;
      const reader = tls.readable.getReader();
      while (received < size) received += (await reader.read()).value!.length;
      reader.releaseLock();
      await feeding;
      assert.equal(received, size);
    } finally {
      await tls.close();
    }
  });
});

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

/** Checks the local error and the alert the server logged (`SSL alert number N`). */
async function refusedWith(
  peer: PeerProcess,
  options: Partial<ConnectTlsOptions>,
  check: (e: unknown) => boolean,
  serverLog: RegExp,
): Promise<void> {
  const tls = await connectTls({ ...base(peer), ...options });
  await assert.rejects(tls.handshake, check);
  await tls.close();
  await peer.waitFor(serverLog);
}

Deno.test("openssl s_server: refusals — wrong host, untrusted root, expired, no shared suite", async () => {
  await withServer(startOpenSsl({}), async (peer) => {
    await refusedWith(
      peer,
      { serverName: "wrong.example" },
      (e) => e instanceof CertificateError && e.reason === "hostname_mismatch",
      /SSL alert number 42/,
    );
    await refusedWith(
      peer,
      { caCerts: [await Deno.readTextFile(fixedPkiFile("other-root.pem"))] },
      (e) => e instanceof CertificateError && e.reason === "unknown_issuer",
      /SSL alert number 48/,
    );
  });

  const expired = await expiredServerCertificate(tempDir);
  await withServer(
    startOpenSsl({
      pki: { ...fixedPki, leaf: expired.cert, intermediate: expired.root, leafKey: expired.key },
    }),
    async (peer) => {
      await refusedWith(
        peer,
        { caCerts: [await Deno.readTextFile(expired.root)] },
        (e) => e instanceof CertificateError && e.reason === "expired" && alertForError(e) === 45,
        /SSL alert number 45/,
      );
    },
  );

  await withServer(startOpenSsl({ ciphers: ["AES256-SHA256"] }), async (peer) => {
    await refusedWith(
      peer,
      {
        suites: [
          CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
          CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA,
        ],
      },
      (e) => e instanceof TlsAlertError && e.fromPeer && e.description === 40,
      /no shared cipher/,
    );
  });
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(tempDir, { recursive: true });
});

/** Record fragment lengths in a TLS byte stream, as they crossed the wire. */
function recordLengths(bytes: Uint8Array): number[] {
  const lengths: number[] = [];
  for (let at = 0; at + 5 <= bytes.length; at += 5 + (bytes[at + 3]! << 8 | bytes[at + 4]!)) {
    lengths.push(bytes[at + 3]! << 8 | bytes[at + 4]!);
  }
  return lengths;
}

Deno.test("openssl s_server: max_fragment_length (RFC 6066) is honoured both ways on the wire; the status page comes in 512-byte records", async () => {
  await withServer(startOpenSsl({}), async (peer) => {
    // OpenSSL has no record_size_limit: it answers max_fragment_length alone.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: peer.port });
    const fromServer: Uint8Array[] = [];
    const toServer: Uint8Array[] = [];
    const tls = startTls({
      readable: conn.readable.pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            fromServer.push(chunk.slice());
            controller.enqueue(chunk);
          },
        }),
      ),
      writable: new WritableStream({
        async write(chunk) {
          toServer.push(chunk.slice());
          for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
        },
      }),
      close: () => conn.close(),
    }, {
      provider: new SoftwareCryptoProvider(),
      trustAnchors: parsePem(root).map((der) => parseCertificate(der)),
      serverName: "localhost",
      maxFragmentLength: 512,
      recordSizeLimit: 512,
    });
    try {
      const info = await tls.handshake;
      assert.deepEqual(info.fragmentLimits, {
        send: 512,
        receive: 512,
        negotiatedBy: "max_fragment_length",
      });
      const writer = tls.writable.getWriter();
      // A 3000-byte request: we must split it into 512-byte records too.
      await writer.write(
        new TextEncoder().encode("GET / HTTP/1.0\r\nX-Pad: " + "p".repeat(3000) + "\r\n\r\n"),
      );
      writer.releaseLock();
      const page = await new Response(tls.readable).text();
      assert.match(page, /^HTTP\/1\.0 200 ok/);
      const join = (chunks: Uint8Array[]) => new Uint8Array(chunks.flatMap((c) => [...c]));
      // Protected records carry at most 512 plaintext bytes plus IV, MAC and padding.
      const overhead = 16 + 32 + 16;
      const received = recordLengths(join(fromServer));
      const sent = recordLengths(join(toServer));
      assert.ok(received.filter((n) => n > 512).length >= 3, `in: ${received.join(",")}`);
      assert.ok(Math.max(...received.slice(2)) <= 512 + overhead, `in: ${received.join(",")}`);
      assert.ok(sent.filter((n) => n > 500).length >= 5, `out: ${sent.join(",")}`);
      assert.ok(Math.max(...sent.slice(1)) <= 512 + overhead, `out: ${sent.join(",")}`);
    } finally {
      await tls.close();
    }
  });
});

Deno.test("openssl s_server: a session whose resumed connection ended in a fatal alert is never resumed again", async () => {
  await withServer(startOpenSsl({ mode: "stdin" }), async (peer) => {
    const sessions = new SessionCache();
    const first = await connectTls({ ...base(peer), session: sessions });
    const session = (await first.handshake).session;
    await first.close();
    assert.ok(session, "s_server hands out a session ID");
    // Resumed through a proxy that corrupts the server's first data record: bad_record_mac.
    await throughCorruptingProxy(peer, { session }, (info) => {
      assert.equal(info.resumed, true);
    });
    assert.equal(isSessionResumable(session), false);
    // Neither the session itself nor the cache that holds it resumes it.
    const direct = await connectTls({ ...base(peer), session });
    assert.equal((await direct.handshake).resumed, false);
    await direct.close();
    assert.equal(
      sessions.get(`localhost:${peer.port}`, Date.now())?.id.toHex() === session.id.toHex(),
      false,
    );
  });
});

Deno.test("openssl s_server: a cached session does not resume under other trust anchors", async () => {
  await withServer(startOpenSsl({}), async (peer) => {
    const sessions = new SessionCache();
    const first = await statusPage({ ...base(peer), session: sessions });
    assert.equal(first.info.resumed, false);
    const again = await statusPage({ ...base(peer), session: sessions });
    assert.equal(again.info.resumed, true, "same trust: resumed");
    // The same root twice is the same trust (a set); adding another anchor is not.
    const same = await statusPage({ ...base(peer), caCerts: [root, root], session: sessions });
    assert.equal(same.info.resumed, true);
    const other = await Deno.readTextFile(fixedPkiFile("intermediate.pem"));
    const widened = await statusPage({ ...base(peer), caCerts: [root, other], session: sessions });
    assert.equal(widened.info.resumed, false, "other anchors: a full handshake");
  });
});
