/**
 * Hostile TLS servers against the TLS client: each scenario must end in the right typed error,
 * with the right alert sent by the client (decoded from what the scripted server captured),
 * within a generous time cap that fails the test instead of hanging it. The scenarios run in
 * memory (`startTls` over an in-memory connection, as rustls's tests do); the ones marked so run
 * over loopback TCP through `connectTls` as well.
 */

import assert from "node:assert/strict";
import { HandshakeType, SoftwareCryptoProvider } from "@anchortls/handshake";
import {
  AlertDescription,
  AlertLevel,
  ContentType,
  encodeTlsRecord,
  TlsAlertError,
} from "@anchortls/record";
import { CertificateError } from "@anchortls/x509";
import {
  connectTls,
  type ConnectTlsOptions,
  HandshakeTimeoutError,
  type TlsConnection,
} from "../mod.ts";
import { startTls, type StartTlsOptions } from "../advanced.ts";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { TruncationError } from "../errors.ts";
import {
  memoryScriptedServer,
  PeerHandshake,
  type ReceivedAlert,
  type ScriptedPeer,
  scriptedServer,
} from "@anchortls/testing";
import { issuerMesh, longChain } from "./test_chains.ts";
import {
  MAX_CONSECUTIVE_EMPTY_RECORDS,
  MAX_CONSECUTIVE_WARNING_ALERTS,
} from "../tls_connection.ts";
import { fixedPkiFile } from "@anchortls/testing";

/** No scenario may take longer than this; reaching it fails the test. */
const CAP_MS = 30_000;

const root = await Deno.readTextFile(fixedPkiFile("root.pem"));

interface Outcome {
  readonly error: unknown;
  readonly value: unknown;
  readonly alerts: ReceivedAlert[];
  readonly peer: ScriptedPeer;
}

/** A fresh client connection and the scripted server it talks to. */
interface Setup {
  readonly tls: TlsConnection;
  readonly done: Promise<{ alerts: ReceivedAlert[]; peer: ScriptedPeer }>;
  close(): Promise<void>;
}

/** Runs one scenario with the time cap; `setup` makes the client and its server. */
async function scenario(
  setup: () => Promise<Setup>,
  client: (tls: TlsConnection) => Promise<unknown>,
): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`scenario still running after ${CAP_MS} ms`)),
      CAP_MS,
    );
  });
  let made: Setup | undefined;
  try {
    made = await setup();
    const { tls, done } = made;
    const result = await Promise.race([
      client(tls).then(
        (value) => ({ value, error: undefined }),
        (error) => ({ value: undefined, error }),
      ),
      cap,
    ]);
    await Promise.race([tls.close(), cap]);
    const { alerts, peer } = await Promise.race([done, cap]);
    return { ...result, alerts, peer };
  } finally {
    clearTimeout(timer);
    await made?.close();
  }
}

const trustAnchors = parsePem(root).map((der) => parseCertificate(der));

/**
 * Plays `script` in memory, as rustls's tests do: `startTls` over an in-memory connection to
 * the scripted server; `client` decides what the client does with the connection (by default
 * it awaits the handshake).
 */
function play(
  script: (peer: ScriptedPeer) => Promise<void>,
  client: (tls: TlsConnection) => Promise<unknown> = (tls) => tls.handshake,
  options: Partial<StartTlsOptions> = {},
): Promise<Outcome> {
  return scenario(() => {
    const server = memoryScriptedServer(script);
    const tls = startTls(server.transport, {
      provider: new SoftwareCryptoProvider(),
      trustAnchors,
      serverName: "localhost",
      ...options,
    });
    return Promise.resolve({ tls, done: server.done, close: server.close });
  }, client);
}

/** Plays `script` over loopback TCP against `connectTls`: the socket path users take. */
function playTcp(
  script: (peer: ScriptedPeer) => Promise<void>,
  client: (tls: TlsConnection) => Promise<unknown> = (tls) => tls.handshake,
  options: Partial<ConnectTlsOptions> = {},
): Promise<Outcome> {
  return scenario(async () => {
    const server = scriptedServer(script);
    try {
      const tls = await connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        serverName: "localhost",
        caCerts: [root],
        ...options,
      });
      return { tls, done: server.done, close: server.close };
    } catch (error) {
      await server.close();
      throw error;
    }
  }, client);
}

function assertAlertError(error: unknown, description: number): void {
  assert.ok(error instanceof TlsAlertError, `expected TlsAlertError, got ${error}`);
  assert.equal(error.description, description, error.message);
  assert.equal(error.fromPeer, false);
}

function assertSentFatal(alerts: readonly ReceivedAlert[], description: number): void {
  assert.deepEqual(alerts, [{ level: AlertLevel.fatal, description }]);
}

/** Both ways to reach the client: in memory through `startTls`, and over TCP through `connectTls`. */
const BOTH = [play, playTcp] as const;

Deno.test("hostile: a record over the size limit is record_overflow (in memory and over TCP)", async () => {
  for (const run of BOTH) {
    const { error, alerts } = await run(async (peer) => {
      await new PeerHandshake(peer).readClientHello();
      // 2^14 + 2048 + 1 bytes announced, and sent.
      const length = 16_384 + 2048 + 1;
      const record = new Uint8Array(5 + length);
      record.set([ContentType.handshake, 3, 3, length >> 8, length & 0xff]);
      await peer.writeRaw(record);
    });
    assertAlertError(error, AlertDescription.record_overflow);
    assertSentFatal(alerts, AlertDescription.record_overflow);
  }
});

Deno.test("hostile: a handshake message announcing 16 MiB is refused at its header", async () => {
  const { error, alerts, peer } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.readClientHello();
    await peer.sendHandshake([hs.serverHello()]);
    // A Certificate announcing 2^24 - 1 bytes, then as much of its body as the client takes.
    const body = new Uint8Array(16_384);
    body.set([HandshakeType.certificate, 0xff, 0xff, 0xff]);
    for (let sent = 0; sent < 1 << 24; sent += body.length) {
      if (!await peer.send(ContentType.handshake, body)) break;
      body.fill(0, 0, 4);
    }
  });
  assertAlertError(error, AlertDescription.decode_error);
  assertSentFatal(alerts, AlertDescription.decode_error);
  assert.ok(peer.bytesWritten < 1 << 24, `the client took ${peer.bytesWritten} bytes`);
});

Deno.test("hostile: endless one-byte fragments stop at the handshake message limit", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.readClientHello();
    await peer.sendHandshake([hs.serverHello()]);
    // A Certificate of the largest accepted length (65 536), one byte per record, and
    // more bytes after it than any message may hold: the client must not keep buffering.
    const header = [HandshakeType.certificate, 0x01, 0x00, 0x00];
    const batch = 4096;
    for (let i = 0; i < 96 * 1024; i += batch) {
      const records = new Uint8Array(batch * 6);
      for (let j = 0; j < batch; j++) {
        records.set([ContentType.handshake, 3, 3, 0, 1, header[i + j] ?? 0], j * 6);
      }
      if (!await peer.writeRaw(records)) break;
    }
  });
  // The 65 536 zero bytes are an empty certificate_list followed by trailing bytes.
  assertAlertError(error, AlertDescription.decode_error);
  assertSentFatal(alerts, AlertDescription.decode_error);
});

Deno.test("hostile: ServerHelloDone before Certificate is unexpected_message", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.readClientHello();
    await peer.sendHandshake([hs.serverHello(), hs.serverHelloDone()]);
  });
  assertAlertError(error, AlertDescription.unexpected_message);
  assertSentFatal(alerts, AlertDescription.unexpected_message);
});

Deno.test("hostile: ChangeCipherSpec before ServerHelloDone is unexpected_message", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.readClientHello();
    await peer.sendHandshake([hs.serverHello(), await hs.certificate()]);
    await peer.send(ContentType.change_cipher_spec, Uint8Array.of(1));
  });
  assertAlertError(error, AlertDescription.unexpected_message);
  assertSentFatal(alerts, AlertDescription.unexpected_message);
});

Deno.test("hostile: a Finished before ChangeCipherSpec is unexpected_message", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.firstFlight();
    await hs.readClientFlight();
    // The right verify_data, but in the clear: the keys never changed.
    await peer.sendHandshake([hs.finished()]);
  });
  assertAlertError(error, AlertDescription.unexpected_message);
  assertSentFatal(alerts, AlertDescription.unexpected_message);
});

Deno.test("hostile: a ServerHello with a suite we never offered is illegal_parameter", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer, {
      serverHello: (hello) => ({ ...hello, cipherSuite: 0x0005 }),
    });
    await hs.firstFlight();
  });
  assertAlertError(error, AlertDescription.illegal_parameter);
  assertSentFatal(alerts, AlertDescription.illegal_parameter);
});

Deno.test("hostile: a ServerHello with an extension we never offered is unsupported_extension", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer, {
      serverHello: (hello) => ({
        ...hello,
        extensions: [...hello.extensions, { type: 16, data: Uint8Array.of(0, 3, 2, 0x68, 0x32) }],
      }),
    });
    await hs.firstFlight();
  });
  assertAlertError(error, AlertDescription.unsupported_extension);
  assertSentFatal(alerts, AlertDescription.unsupported_extension);
});

Deno.test("hostile: a chain of 50 certificates stops at the path depth limit", async () => {
  const chain = await longChain();
  assert.equal(chain.length, 50);
  const { error, alerts } = await play(async (peer) => {
    await new PeerHandshake(peer, { chain }).firstFlight();
  });
  assert.ok(error instanceof CertificateError, `expected CertificateError, got ${error}`);
  assert.equal(error.reason, "max_depth_exceeded");
  assertSentFatal(alerts, AlertDescription.certificate_unknown);
});

Deno.test("hostile: 48 same-named issuers do not make the path search explode", async () => {
  const chain = await issuerMesh();
  assert.equal(chain.length, 49);
  const { error, alerts } = await play(async (peer) => {
    await new PeerHandshake(peer, { chain }).firstFlight();
  });
  assert.ok(error instanceof CertificateError, `expected CertificateError, got ${error}`);
  // The search gives up within its budget of issuer candidates, at the deepest path it saw.
  assert.equal(error.reason, "unknown_issuer");
  assertSentFatal(alerts, AlertDescription.unknown_ca);
});

Deno.test("hostile: a 1 MiB certificate is refused at the message header", async () => {
  const { error, alerts } = await play(async (peer) => {
    const big = new Uint8Array(1 << 20);
    big.set([0x30, 0x83, 0x0f, 0xff, 0xfc]);
    await new PeerHandshake(peer, { chain: [big] }).firstFlight();
  });
  assertAlertError(error, AlertDescription.decode_error);
  assertSentFatal(alerts, AlertDescription.decode_error);
});

Deno.test("hostile: a server Finished with wrong verify_data is decrypt_error", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.firstFlight();
    await hs.readClientFlight();
    await hs.changeCipherSpec();
    await peer.sendHandshake([hs.finished(true)]);
  });
  assertAlertError(error, AlertDescription.decrypt_error);
  // The alert went out under the client's new keys; the server read it with them.
  assertSentFatal(alerts, AlertDescription.decrypt_error);
});

Deno.test("hostile: application data before the server Finished is unexpected_message", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.firstFlight();
    await hs.readClientFlight();
    await hs.changeCipherSpec();
    await peer.send(ContentType.application_data, new TextEncoder().encode("too early"));
  });
  assertAlertError(error, AlertDescription.unexpected_message);
  assertSentFatal(alerts, AlertDescription.unexpected_message);
});

Deno.test("hostile: a renegotiation request gets a no_renegotiation warning and the connection goes on", async () => {
  const { error, value, alerts } = await play(
    async (peer) => {
      const hs = new PeerHandshake(peer);
      await hs.complete();
      await peer.send(ContentType.handshake, Uint8Array.of(HandshakeType.hello_request, 0, 0, 0));
      const answer = await peer.readRecord();
      assert.equal(answer?.type, ContentType.alert);
      await peer.send(ContentType.application_data, new TextEncoder().encode("still here"));
      await peer.send(ContentType.alert, Uint8Array.of(AlertLevel.warning, 0));
    },
    async (tls) => {
      await tls.handshake;
      return await new Response(tls.readable).text();
    },
  );
  assert.equal(error, undefined);
  assert.equal(value, "still here");
  assert.deepEqual(alerts, [
    { level: AlertLevel.warning, description: AlertDescription.no_renegotiation },
    { level: AlertLevel.warning, description: AlertDescription.close_notify },
  ]);
});

Deno.test("hostile: an alert storm during the handshake ends after the warning limit", async () => {
  const { error, alerts, peer } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.readClientHello();
    await peer.sendHandshake([hs.serverHello()]);
    for (let i = 0; i < 10_000; i++) {
      if (!await peer.send(ContentType.alert, Uint8Array.of(AlertLevel.warning, 112))) break;
    }
  });
  assertAlertError(error, AlertDescription.unexpected_message);
  assert.match(
    (error as Error).message,
    new RegExp(`${MAX_CONSECUTIVE_WARNING_ALERTS + 1} warning`),
  );
  assertSentFatal(alerts, AlertDescription.unexpected_message);
  assert.ok(peer.bytesWritten < 10_000 * 7);
});

Deno.test("hostile: an alert storm after the handshake errors the readable side", async () => {
  const { error, alerts } = await play(
    async (peer) => {
      await new PeerHandshake(peer).complete();
      for (let i = 0; i < 1000; i++) {
        if (!await peer.send(ContentType.alert, Uint8Array.of(AlertLevel.warning, 100))) break;
      }
    },
    async (tls) => {
      await tls.handshake;
      return await new Response(tls.readable).text();
    },
  );
  assertAlertError(error, AlertDescription.unexpected_message);
  assertSentFatal(alerts, AlertDescription.unexpected_message);
});

Deno.test("hostile: a storm of empty records errors the readable side", async () => {
  const { error, alerts } = await play(
    async (peer) => {
      await new PeerHandshake(peer).complete();
      for (let i = 0; i < 1000; i++) {
        if (!await peer.send(ContentType.application_data, new Uint8Array(0))) break;
      }
    },
    async (tls) => {
      await tls.handshake;
      return await new Response(tls.readable).text();
    },
  );
  assertAlertError(error, AlertDescription.unexpected_message);
  assert.match((error as Error).message, new RegExp(`${MAX_CONSECUTIVE_EMPTY_RECORDS + 1} empty`));
  assertSentFatal(alerts, AlertDescription.unexpected_message);
});

Deno.test("hostile: warnings alternating with empty records do not reset each other", async () => {
  const { error, alerts } = await play(
    async (peer) => {
      await new PeerHandshake(peer).complete();
      for (let i = 0; i < 1000; i++) {
        if (!await peer.send(ContentType.alert, Uint8Array.of(AlertLevel.warning, 100))) break;
        if (!await peer.send(ContentType.application_data, new Uint8Array(0))) break;
      }
    },
    async (tls) => {
      await tls.handshake;
      return await new Response(tls.readable).text();
    },
  );
  assertAlertError(error, AlertDescription.unexpected_message);
  assertSentFatal(alerts, AlertDescription.unexpected_message);
});

Deno.test("hostile: a few warnings between data records are tolerated", async () => {
  const { error, value } = await play(
    async (peer) => {
      await new PeerHandshake(peer).complete();
      for (let i = 0; i < 3 * MAX_CONSECUTIVE_WARNING_ALERTS; i++) {
        await peer.send(ContentType.alert, Uint8Array.of(AlertLevel.warning, 100));
        if (i % MAX_CONSECUTIVE_WARNING_ALERTS === 0) {
          await peer.send(ContentType.application_data, new TextEncoder().encode("."));
        }
      }
      await peer.send(ContentType.alert, Uint8Array.of(AlertLevel.warning, 0));
    },
    async (tls) => {
      await tls.handshake;
      return await new Response(tls.readable).text();
    },
  );
  assert.equal(error, undefined);
  assert.equal(value, "...");
});

Deno.test("hostile: a server that stops mid-record during the handshake is a truncation (in memory and over TCP)", async () => {
  for (const run of BOTH) {
    const { error, alerts } = await run(async (peer) => {
      const hs = new PeerHandshake(peer);
      await hs.readClientHello();
      const record = new Uint8Array(5 + 100);
      record.set([ContentType.handshake, 3, 3, 0, 100]);
      await peer.writeRaw(record.subarray(0, 40));
      await peer.closeWrite();
    });
    assert.ok(error instanceof TruncationError, `expected TruncationError, got ${error}`);
    assert.deepEqual(alerts, []);
  }
});

Deno.test("hostile: a server that stops mid-record after the handshake is a truncation", async () => {
  const { error } = await play(
    async (peer) => {
      const hs = new PeerHandshake(peer);
      await hs.complete();
      await peer.writeRaw(Uint8Array.of(ContentType.application_data, 3, 3, 0, 64, 1, 2, 3));
      await peer.closeWrite();
    },
    async (tls) => {
      await tls.handshake;
      return await new Response(tls.readable).text();
    },
  );
  assert.ok(error instanceof TruncationError, `expected TruncationError, got ${error}`);
});

Deno.test("hostile: a server that stalls mid-record is ended by the caller's signal (over TCP)", async () => {
  const stalled = Promise.withResolvers<void>();
  const { error, alerts } = await playTcp(
    async (peer) => {
      await new PeerHandshake(peer).readClientHello();
      await peer.writeRaw(Uint8Array.of(ContentType.handshake, 3, 3, 0, 100, 2, 0));
      stalled.resolve();
    },
    (tls) => tls.handshake,
    { signal: AbortSignal.timeout(500) },
  );
  await stalled.promise;
  assert.ok(error instanceof DOMException, `expected DOMException, got ${error}`);
  assert.equal(error.name, "TimeoutError");
  assert.deepEqual(alerts, [{
    level: AlertLevel.warning,
    description: AlertDescription.user_canceled,
  }]);
});

Deno.test("hostile: a record with another header version after the ServerHello is protocol_version", async () => {
  const { error, alerts } = await play(async (peer) => {
    const hs = new PeerHandshake(peer);
    await hs.readClientHello();
    await peer.sendHandshake([hs.serverHello()]);
    // The Certificate in a record whose header still says TLS 1.0 (tolerated only before).
    await peer.writeRaw(
      encodeTlsRecord({
        type: ContentType.handshake,
        version: 0x0301,
        fragment: await hs.certificate(),
      }),
    );
  });
  assertAlertError(error, AlertDescription.protocol_version);
  assertSentFatal(alerts, AlertDescription.protocol_version);
});

Deno.test("hostile: a server trickling its flight one byte at a time is ended by the handshake deadline, sending no alert", async () => {
  let sent = 0;
  const { error, alerts } = await play(
    async (peer) => {
      const hs = new PeerHandshake(peer);
      await hs.readClientHello();
      const record = encodeTlsRecord({
        type: ContentType.handshake,
        version: 0x0303,
        fragment: hs.serverHello(),
      });
      // A byte every 50 ms keeps the connection busy but never finishes the flight in time.
      for (const byte of record) {
        if (!await peer.writeRaw(Uint8Array.of(byte))) return;
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    (tls) => tls.handshake,
    { handshakeTimeoutMs: 400 },
  );
  assert.ok(error instanceof HandshakeTimeoutError, `expected HandshakeTimeoutError, got ${error}`);
  assert.equal(error.elapsedMs, 400);
  assert.ok(sent > 2, "the server was still trickling");
  assert.deepEqual(alerts, [], "a local timeout sends no alert");
});
