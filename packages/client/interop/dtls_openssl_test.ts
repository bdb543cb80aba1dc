/**
 * connectDtls against `openssl s_server -dtls1_2` on 127.0.0.1: the cookie exchange, every
 * suite with Encrypt-then-MAC on and off, s_server's ~100-byte Certificate fragments, a
 * required client certificate sent in fragments of our own, messages both ways, the MTU
 * limit on writes, and close_notify.
 *
 * Needs: `openssl` on PATH, --allow-run, --allow-net (loopback), --allow-read (the x509
 * package's test PKI), --allow-env.
 */

import assert from "node:assert/strict";
import { alertForError } from "@anchortls/handshake";
import {
  CertificateError,
  ConnectionClosedError,
  type DtlsConnection,
  TlsAlertError,
} from "@anchortls/client";
import {
  fixedPki,
  fixedPkiFile,
  OPENSSL_SUITES,
  type PeerProcess,
  startOpenSslServer,
} from "@anchortls/testing";
import { connectToPeer } from "./_dtls_connect.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads messages until one contains `text`; every message must be whole lines of s_server's stdin. */
async function readUntil(dtls: DtlsConnection, text: string): Promise<void> {
  const reader = dtls.readable.getReader();
  let seen = "";
  try {
    while (!seen.includes(text)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended before ${JSON.stringify(text)}: ${seen}`);
      seen += decoder.decode(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/** One message each way: ours shows in s_server's output, its stdin line reaches us. */
async function exchange(
  peer: PeerProcess,
  dtls: DtlsConnection,
  tag: string,
  via: "writable" | "send" = "writable",
): Promise<void> {
  const ping = encoder.encode(`ping ${tag}\n`);
  if (via === "send") {
    await dtls.send(ping);
  } else {
    const writer = dtls.writable.getWriter();
    await writer.write(ping);
    writer.releaseLock();
  }
  await peer.waitFor(new RegExp(`ping ${tag}\\n`));
  await peer.write(encoder.encode(`pong ${tag}\n`));
  await readUntil(dtls, `pong ${tag}\n`);
}

Deno.test("DTLS openssl s_server: every suite × Encrypt-then-MAC, cookie exchange, data both ways, close_notify", async () => {
  const peer = await startOpenSslServer({ pki: fixedPki, dtls: true, mtu: 1400 });
  try {
    let closes = 0;
    for (const { openssl, suite } of OPENSSL_SUITES) {
      for (const encryptThenMac of [true, false]) {
        const tag = `${openssl}-${encryptThenMac ? "etm" : "mte"}`;
        const dtls = await connectToPeer(peer, { suites: [suite], encryptThenMac });
        try {
          const info = await dtls.handshake;
          assert.equal(info.suite.id, suite.id, tag);
          assert.equal(info.encryptThenMac, encryptThenMac, tag);
          assert.equal(info.extendedMasterSecret, true, tag);
          assert.equal(info.version, "TLSv1.2");
          await exchange(peer, dtls, tag);
          assert.equal(dtls.stats.dropped, 0, tag);
          assert.equal(dtls.stats.replayed, 0, tag);
        } finally {
          await dtls.close();
        }
        // s_server reports our close_notify before it accepts the next client.
        closes++;
        await peer.waitFor(new RegExp(`(?:DONE|shutting down)[\\s\\S]*`.repeat(closes)));
      }
    }
  } finally {
    await peer.stop();
  }
});

Deno.test("DTLS openssl s_server -no_etm: the offer is declined and MAC-then-encrypt works", async () => {
  const peer = await startOpenSslServer({
    pki: fixedPki,
    dtls: true,
    mtu: 1400,
    encryptThenMac: false,
  });
  try {
    const dtls = await connectToPeer(peer);
    try {
      assert.equal((await dtls.handshake).encryptThenMac, false);
      await exchange(peer, dtls, "no-etm");
    } finally {
      await dtls.close();
    }
    assert.equal((await dtls.readable.getReader().read()).done, true, "close ends readable");
    await assert.rejects(dtls.send(Uint8Array.of(1)), ConnectionClosedError);
  } finally {
    await peer.stop();
  }
});

Deno.test("DTLS openssl s_server: ~100-byte Certificate fragments in, a required client certificate out in 400-byte datagrams", async () => {
  const peer = await startOpenSslServer({
    pki: fixedPki,
    dtls: true,
    clientCertificate: "require",
  });
  try {
    const dtls = await connectToPeer(peer, {
      mtu: 400,
      clientCertificate: {
        certificateChain: (await Deno.readTextFile(fixedPkiFile("client.pem"))) +
          (await Deno.readTextFile(fixedPkiFile("intermediate.pem"))),
        privateKey: await Deno.readTextFile(fixedPkiFile("client.key")),
      },
    });
    try {
      const info = await dtls.handshake;
      assert.equal(info.clientCertificateSent, true);
      assert.equal(info.peerCertificates.length, 3);
      await exchange(peer, dtls, "client-auth");
      assert.ok(dtls.maxMessageLength <= 400 - 13);
    } finally {
      await dtls.close();
    }
    const without = await connectToPeer(peer);
    try {
      await assert.rejects(
        without.handshake,
        (e: unknown) => e instanceof TlsAlertError && e.fromPeer,
      );
    } finally {
      await without.close();
    }
  } finally {
    await peer.stop();
  }
});

Deno.test("DTLS openssl s_server: a message larger than the MTU allows is refused, the connection goes on", async () => {
  const peer = await startOpenSslServer({ pki: fixedPki, dtls: true, mtu: 1400 });
  try {
    const dtls = await connectToPeer(peer, { mtu: 600 });
    try {
      await dtls.handshake;
      const max = dtls.maxMessageLength;
      assert.ok(max > 500 && max <= 600 - 13, `max ${max}`);
      await assert.rejects(dtls.send(new Uint8Array(max + 1)), RangeError);
      await dtls.send(encoder.encode(`${"x".repeat(max - 1)}\n`));
      await peer.waitFor(new RegExp(`x{${max - 1}}\\n`));
      const writer = dtls.writable.getWriter();
      await assert.rejects(writer.write(new Uint8Array(max + 1)), /does not fit one datagram/);
      writer.releaseLock();
      await exchange(peer, dtls, "after-refusals", "send");
      const line = `${"y".repeat(1000)}\n`;
      await peer.write(encoder.encode(line));
      await readUntil(dtls, line);
    } finally {
      await dtls.close();
    }
  } finally {
    await peer.stop();
  }
});

Deno.test("DTLS openssl s_server: a wrong serverName fails with hostname_mismatch, and the server sees alert 42", async () => {
  const peer = await startOpenSslServer({
    pki: fixedPki,
    dtls: true,
    mtu: 1400,
    extraArgs: ["-trace"],
  });
  try {
    const dtls = await connectToPeer(peer, { serverName: "not-localhost.example" });
    await assert.rejects(
      dtls.handshake,
      (e) =>
        e instanceof CertificateError && e.reason === "hostname_mismatch" &&
        alertForError(e) === 42,
    );
    await dtls.close();
    // s_server reports what it received: our fatal bad_certificate (42).
    await peer.waitFor(/SSL alert number 42/);
  } finally {
    await peer.stop();
  }
});
