/**
 * connectDtls against `gnutls-serv -u --echo` on 127.0.0.1: with and without the cookie
 * exchange, every suite with Encrypt-then-MAC on and off, a required client certificate, and
 * an echo of 1000 messages of mixed sizes with every payload checked.
 *
 * Needs: `gnutls-serv` on PATH (Debian gnutls-bin), --allow-run, --allow-net (loopback),
 * --allow-read (the x509 package's test PKI), --allow-env.
 */

import assert from "node:assert/strict";
import { type DtlsConnection, DtlsHandshakeTimeoutError, TlsAlertError } from "@anchortls/client";
import { fixedPki, fixedPkiFile, OPENSSL_SUITES, startGnutlsServer } from "@anchortls/testing";
import { connectToPeer } from "./_dtls_connect.ts";

/**
 * gnutls-serv's UDP echo reads at most 254 bytes at a time and answers each read with a
 * record of its own, so a message echoes back whole only up to that size; larger messages
 * are checked against s_server in dtls_openssl_test.ts.
 */
const ECHO_MAX = 254;

/** A message that names its index in its first four bytes, the rest seeded filler. */
function message(index: number, size: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(size, 4));
  new DataView(bytes.buffer).setUint32(0, index);
  for (let i = 4; i < bytes.length; i++) bytes[i] = (index * 31 + i * 7) & 0xff;
  return bytes;
}

/**
 * Sends `sizes.length` messages with at most `window` unanswered and checks each echo byte
 * for byte; every message must come back exactly once.
 */
async function echo(dtls: DtlsConnection, sizes: readonly number[], window = 16): Promise<void> {
  const reader = dtls.readable.getReader();
  const sent: Uint8Array[] = [];
  const seen = new Set<number>();
  try {
    let next = 0;
    while (seen.size < sizes.length) {
      while (next < sizes.length && next - seen.size < window) {
        const m = message(next, sizes[next]!);
        sent.push(m);
        await dtls.send(m);
        next++;
      }
      const timer = Promise.withResolvers<never>();
      const id = setTimeout(
        () => timer.reject(new Error(`no echo after ${seen.size} of ${sizes.length}`)),
        5_000,
      );
      const { done, value } = await Promise.race([reader.read(), timer.promise]).finally(() =>
        clearTimeout(id)
      );
      if (done) throw new Error(`stream ended after ${seen.size} echoes`);
      const index = new DataView(value.buffer, value.byteOffset).getUint32(0);
      assert.ok(!seen.has(index), `message ${index} delivered twice`);
      assert.deepEqual(value, sent[index], `echo of message ${index}`);
      seen.add(index);
    }
  } finally {
    reader.releaseLock();
  }
}

Deno.test("DTLS gnutls-serv: every suite × Encrypt-then-MAC, with the cookie exchange, echoed", async () => {
  const peer = await startGnutlsServer({ pki: fixedPki, dtls: true });
  try {
    for (const { openssl, suite } of OPENSSL_SUITES) {
      for (const encryptThenMac of [true, false]) {
        const tag = `${openssl}-${encryptThenMac ? "etm" : "mte"}`;
        const dtls = await connectToPeer(peer, { suites: [suite], encryptThenMac });
        try {
          const info = await dtls.handshake;
          assert.equal(info.suite.id, suite.id, tag);
          assert.equal(info.encryptThenMac, encryptThenMac, tag);
          assert.equal(info.extendedMasterSecret, true, tag);
          await echo(dtls, [4, 100, ECHO_MAX]);
        } finally {
          await dtls.close();
        }
      }
    }
  } finally {
    await peer.stop();
  }
});

Deno.test("DTLS gnutls-serv --nocookie: a server that skips HelloVerifyRequest", async () => {
  for (const encryptThenMac of [true, false]) {
    const peer = await startGnutlsServer({
      pki: fixedPki,
      dtls: true,
      encryptThenMac,
      extraArgs: ["--nocookie"],
    });
    try {
      const dtls = await connectToPeer(peer);
      try {
        assert.equal((await dtls.handshake).encryptThenMac, encryptThenMac);
        await echo(dtls, [5, ECHO_MAX]);
      } finally {
        await dtls.close();
      }
    } finally {
      await peer.stop();
    }
  }
});

Deno.test("DTLS gnutls-serv -r: client certificate required", async () => {
  const peer = await startGnutlsServer({ pki: fixedPki, dtls: true, clientCertificate: "require" });
  try {
    const dtls = await connectToPeer(peer, {
      clientCertificate: {
        certificateChain: (await Deno.readTextFile(fixedPkiFile("client.pem"))) +
          (await Deno.readTextFile(fixedPkiFile("intermediate.pem"))),
        privateKey: await Deno.readTextFile(fixedPkiFile("client.key")),
      },
    });
    try {
      assert.equal((await dtls.handshake).clientCertificateSent, true);
      await echo(dtls, [64]);
    } finally {
      await dtls.close();
    }
    // gnutls-serv over UDP sends no alert when the certificate is missing ("No certificate
    // was found" in its log): the attempt ends at our handshake deadline.
    const without = await connectToPeer(peer, {
      retransmit: { initialTimeoutMs: 200, handshakeTimeoutMs: 1500 },
    });
    try {
      await assert.rejects(
        without.handshake,
        (e: unknown) =>
          e instanceof DtlsHandshakeTimeoutError || (e instanceof TlsAlertError && e.fromPeer),
      );
    } finally {
      await without.close();
    }
  } finally {
    await peer.stop();
  }
});

Deno.test("DTLS gnutls-serv: 1000 messages of mixed sizes (4..254 bytes) echoed, every payload checked", async () => {
  const peer = await startGnutlsServer({ pki: fixedPki, dtls: true });
  try {
    const dtls = await connectToPeer(peer);
    try {
      await dtls.handshake;
      const palette = [4, 5, 15, 16, 17, 31, 32, 33, 64, 100, 128, 200, ECHO_MAX - 1, ECHO_MAX];
      const sizes = Array.from({ length: 1000 }, (_, i) => palette[(i * 7) % palette.length]!);
      await echo(dtls, sizes);
      assert.equal(dtls.stats.delivered, 1000);
      assert.equal(dtls.stats.replayed, 0);
    } finally {
      await dtls.close();
    }
  } finally {
    await peer.stop();
  }
});
