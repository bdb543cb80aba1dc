/**
 * Interop with `gnutls-serv --echo` (GnuTLS 3.x). Run with `deno test -A`; needs gnutls-bin.
 *
 * @module
 */

import assert from "node:assert/strict";
import { alertForError, SessionCache } from "@anchortls/handshake";
import { AlertDescription, type CipherSuite, CipherSuites, TlsAlertError } from "@anchortls/record";
import { CertificateError } from "@anchortls/x509";
import { sha256 } from "@noble/hashes/sha2.js";
import { connectTls, type ConnectTlsOptions } from "../mod.ts";
import {
  fixedPki,
  fixedPkiFile,
  type GnutlsServerOptions,
  type PeerProcess,
  startGnutlsServer,
} from "@anchortls/testing";
import { expiredServerCertificate } from "./_faults.ts";

const root = await Deno.readTextFile(fixedPkiFile("root.pem"));
const suites: [CipherSuite, string][] = [
  [CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA, "(AES-128-CBC)-(SHA1)"],
  [CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA, "(AES-256-CBC)-(SHA1)"],
  [CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256, "(AES-128-CBC)-(SHA256)"],
  [CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256, "(AES-256-CBC)-(SHA256)"],
];

function base(peer: PeerProcess): ConnectTlsOptions {
  return { hostname: "127.0.0.1", port: peer.port, serverName: "localhost", caCerts: [root] };
}

async function withGnutls(
  options: Partial<GnutlsServerOptions>,
  body: (peer: PeerProcess) => Promise<void>,
) {
  // Without -a or -r, gnutls-serv asks for a client certificate and takes none as well.
  const peer = await startGnutlsServer({ pki: fixedPki, clientCertificate: "request", ...options });
  try {
    await body(peer);
  } finally {
    await peer.stop();
  }
}

/** Sends a line, reads the echo, closes; returns the handshake info. */
async function echo(options: ConnectTlsOptions, line = "hello anchortls\n") {
  const tls = await connectTls(options);
  try {
    const info = await tls.handshake;
    const writer = tls.writable.getWriter();
    await writer.write(new TextEncoder().encode(line));
    const reader = tls.readable.getReader();
    let text = "";
    while (text.length < line.length) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    assert.equal(text, line);
    return info;
  } finally {
    await tls.close();
  }
}

function connectionReports(peer: PeerProcess): string[] {
  return peer.output().split("* Accepted connection").slice(1);
}

for (const encryptThenMac of [true, false]) {
  for (const extendedMasterSecret of [true, false]) {
    Deno.test(`gnutls-serv: every suite, EtM ${encryptThenMac ? "on" : "off"}, EMS ${extendedMasterSecret ? "on" : "off"}`, async () => {
      await withGnutls({ encryptThenMac, extendedMasterSecret }, async (peer) => {
        for (const [i, [suite, description]] of suites.entries()) {
          const info = await echo({ ...base(peer), suites: [suite] });
          assert.equal(info.suite, suite);
          assert.equal(info.encryptThenMac, encryptThenMac);
          assert.equal(info.extendedMasterSecret, extendedMasterSecret);
          await peer.waitFor(new RegExp(`(- Options:[^\\n]*\\n[\\s\\S]*){${i + 1}}`));
          const report = connectionReports(peer)[i]!;
          assert.ok(report.includes(`(TLS1.2-X.509)-(RSA)-${description}`), report);
          const options = report.match(/- Options:([^\n]*)/)![1]!;
          assert.equal(options.includes("EtM"), encryptThenMac, options);
          assert.equal(options.includes("extended master secret"), extendedMasterSecret, options);
          assert.ok(options.includes("safe renegotiation"), options);
        }
      });
    });
  }
}

Deno.test("gnutls-serv: client certificate required", async () => {
  await withGnutls({ clientCertificate: "require" }, async (peer) => {
    const info = await echo({
      ...base(peer),
      clientCertificate: {
        certificateChain: (await Deno.readTextFile(fixedPkiFile("client.pem"))) +
          (await Deno.readTextFile(fixedPkiFile("intermediate.pem"))),
        privateKey: await Deno.readTextFile(fixedPkiFile("client.key")),
      },
    });
    assert.equal(info.clientCertificateSent, true);
    await peer.waitFor(/anchortls test client/);
    await peer.waitFor(/- Client Signature: RSA-PSS-RSAE-SHA256/);

    // An ECDSA P-256 key signs CertificateVerify in DER form. (GnuTLS does not hold the
    // serverAuth-only extended key usage of this test certificate against it.)
    const ecdsa = await echo({
      ...base(peer),
      clientCertificate: {
        certificateChain: (await Deno.readTextFile(fixedPkiFile("ec-leaf.pem"))) +
          (await Deno.readTextFile(fixedPkiFile("intermediate.pem"))),
        privateKey: await Deno.readTextFile(fixedPkiFile("ec-leaf.key")),
      },
    });
    assert.equal(ecdsa.clientCertificateSent, true);
    await peer.waitFor(/- Client Signature: ECDSA-SHA256/);

    // Without one, GnuTLS answers our empty Certificate with decode_error.
    const refused = await connectTls(base(peer));
    await assert.rejects(
      refused.handshake,
      (e) => e instanceof TlsAlertError && e.fromPeer && e.description === 50,
    );
    await refused.close();
    await peer.waitFor(/No certificate was found/);
  });
});

Deno.test("gnutls-serv: session resumption by session ID", async () => {
  await withGnutls({}, async (peer) => {
    const session = new SessionCache();
    const first = await echo({ ...base(peer), session });
    assert.equal(first.resumed, false);
    const second = await echo({ ...base(peer), session });
    assert.equal(second.resumed, true);
    assert.equal(second.suite, first.suite);
    await peer.waitFor(/This is a resumed session/);
    session.clear();
  });
});

Deno.test("gnutls-serv: 1 MiB echoed back, SHA-256 equal", async () => {
  await withGnutls({}, async (peer) => {
    // gnutls-serv echoes line by line, so the random payload travels as hex lines.
    const size = 1 << 20;
    const data = randomHexLines(size);
    const tls = await connectTls(base(peer));
    try {
      await tls.handshake;
      const writer = tls.writable.getWriter();
      const sending = (async () => {
        for (let at = 0; at < size; at += 40_000) {
          await writer.write(data.subarray(at, at + 40_000));
        }
      })();
      const hash = sha256.create();
      let length = 0;
      const reader = tls.readable.getReader();
      while (length < size) {
        const { value, done } = await reader.read();
        if (done) break;
        hash.update(value);
        length += value.length;
      }
      await sending;
      assert.equal(length, size);
      assert.equal(hash.digest().toHex(), sha256(data).toHex());
    } finally {
      await tls.close();
    }
  });
});

Deno.test("gnutls-serv: refusals — wrong host, untrusted root, expired, no shared suite", async () => {
  await withGnutls({ debug: 5 }, async (peer) => {
    const wrongHost = await connectTls({ ...base(peer), serverName: "wrong.example" });
    await assert.rejects(
      wrongHost.handshake,
      (e) => e instanceof CertificateError && e.reason === "hostname_mismatch",
    );
    await wrongHost.close();
    await peer.waitFor(/Alert\[2\|42\]/);

    const untrusted = await connectTls({
      ...base(peer),
      caCerts: [await Deno.readTextFile(fixedPkiFile("other-root.pem"))],
    });
    await assert.rejects(
      untrusted.handshake,
      (e) => e instanceof CertificateError && e.reason === "unknown_issuer",
    );
    await untrusted.close();
    await peer.waitFor(/Alert\[2\|48\]/);
  });
  const tempDir = await Deno.makeTempDir({ prefix: "anchortls-interop-" });
  try {
    const expired = await expiredServerCertificate(tempDir);
    await withGnutls(
      { debug: 5, pki: { ...fixedPki, chain: expired.cert, leafKey: expired.key } },
      async (peer) => {
        const tls = await connectTls({
          ...base(peer),
          caCerts: [await Deno.readTextFile(expired.root)],
        });
        await assert.rejects(
          tls.handshake,
          (e) => e instanceof CertificateError && e.reason === "expired" && alertForError(e) === 45,
        );
        await tls.close();
        await peer.waitFor(/Alert\[2\|45\]/);
      },
    );
  } finally {
    await Deno.remove(tempDir, { recursive: true });
  }
  await withGnutls({ ciphers: "+AES-256-CBC:+SHA256" }, async (peer) => {
    const tls = await connectTls({
      ...base(peer),
      suites: [CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA],
    });
    await assert.rejects(
      tls.handshake,
      (e) => e instanceof TlsAlertError && e.fromPeer && e.description === 40,
    );
    await tls.close();
    await peer.waitFor(/Error in handshake/);
  });
});

function randomHexLines(size: number): Uint8Array {
  const out = new Uint8Array(size);
  const raw = crypto.getRandomValues(new Uint8Array(32));
  for (let at = 0; at < size; at += 65) {
    crypto.getRandomValues(raw);
    out.set(new TextEncoder().encode(raw.toHex()).subarray(0, Math.min(64, size - at - 1)), at);
    out[Math.min(at + 64, size - 1)] = 0x0a;
  }
  return out;
}

Deno.test("gnutls-serv: record_size_limit (RFC 8449) is taken over max_fragment_length, and 6 KB come back in records within it", async () => {
  await withGnutls({}, async (peer) => {
    // Our reader refuses a record over the limit we asked for (record_overflow), so an echo of
    // 6000 bytes that arrives whole came in records of at most 512 bytes.
    const line = "x".repeat(5999) + "\n";
    const both = await echo({ ...base(peer), maxFragmentLength: 1024, recordSizeLimit: 512 }, line);
    assert.equal(both.fragmentLimits.negotiatedBy, "record_size_limit");
    assert.equal(both.fragmentLimits.receive, 512);
    // Offered alone, max_fragment_length is answered, but this gnutls-serv echoes 6000 bytes in
    // one record anyway: the connection ends with a typed record_overflow naming the limit,
    // never wrong data.
    await assert.rejects(
      echo({ ...base(peer), maxFragmentLength: 1024, recordSizeLimit: false }, line),
      (e) =>
        e instanceof TlsAlertError && e.description === AlertDescription.record_overflow &&
        /exceeds 1024/.test(e.message),
    );
    const none = await echo(base(peer), line);
    assert.equal(none.fragmentLimits.negotiatedBy, "none");
  });
});

Deno.test("gnutls-serv: without serverName an IP hostname is checked against the certificate's IP SAN", async () => {
  await withGnutls({}, async (peer) => {
    // gnutls-serv listens on every address; the leaf names IP 127.0.0.1 only.
    const info = await echo({ hostname: "127.0.0.1", port: peer.port, caCerts: [root] });
    assert.ok(info.peerCertificates.length > 0);
    await assert.rejects(
      echo({ hostname: "127.0.0.2", port: peer.port, caCerts: [root] }),
      (e) => e instanceof CertificateError && e.reason === "hostname_mismatch",
    );
  });
});
