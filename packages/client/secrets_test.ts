/**
 * No secret leaves through text: full handshakes with the software provider (against
 * `openssl s_server` and the scripted loopback server, succeeding and failing after the keys
 * exist) run while every console method is stubbed; then everything the client logged, every
 * error it threw (message, stack, causes, inspection, JSON), and every object reachable from
 * the connections, handshake infos, provider, session cache and record protectors — as
 * `Deno.inspect`, `String()` and `JSON.stringify` give them — is searched for the premaster,
 * master secret and record keys of each handshake — and, for ECDHE, the ephemeral private key
 * and the ECDH premaster — in hex, base64, decimal-list and raw form.
 *
 * The secrets come from outside the client: the RSA premaster and the ephemeral private key
 * from a recording random source given to the provider (checked against what the scripted
 * server decrypted, or against the server's point and the master secret openssl logged), the
 * ECDH premaster recomputed from that key and the server's ServerKeyExchange as the relay saw
 * it, the master secret from the server (the scripted server's own derivation, openssl's key
 * log), and the record keys from the exported key schedule.
 */

import assert from "node:assert/strict";
import {
  type CryptoProvider,
  deriveKeyBlock,
  type HandshakeInfo,
  isSessionResumable,
  NamedGroup,
  SessionCache,
  SoftwareCryptoProvider,
} from "@anchortls/handshake";
import { type CipherSuite, ContentType } from "@anchortls/record";
import { p256 } from "@noble/curves/nist.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { connectTls, type TlsConnection } from "./mod.ts";
import {
  fixedEcPki,
  fixedPki,
  fixedPkiFile,
  type ServerIdentity,
  startOpenSslServer,
} from "@anchortls/testing";
import { PeerHandshake, type ScriptedPeer, scriptedServer } from "@anchortls/testing";

const root = await Deno.readTextFile(fixedPkiFile("root.pem"));

/** A random source that remembers what it gave, so the premaster can be recomputed. */
function recordingRandom(): { random: (n: number) => Uint8Array; outputs: Uint8Array[] } {
  const outputs: Uint8Array[] = [];
  return {
    outputs,
    random: (n) => {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      outputs.push(bytes.slice());
      return bytes;
    },
  };
}

/** The premasters a provider made: its 48-byte draws, with the version bytes it writes. */
function premasters(outputs: readonly Uint8Array[]): Uint8Array[] {
  return outputs.filter((o) => o.length === 48).map((o) => {
    const p = o.slice();
    p.set([3, 3]);
    return p;
  });
}

interface Secrets {
  readonly label: string;
  readonly bytes: Uint8Array;
}

function keySecrets(
  label: string,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  suite: CipherSuite,
): Secrets[] {
  const keys = deriveKeyBlock(master, clientRandom, serverRandom, suite);
  return [
    { label: `${label} master secret`, bytes: master },
    // The 4-byte implicit IVs of GCM and CCM are too short to search for without matching
    // text by chance; every key is at least 16 bytes.
    ...Object.entries(keys).filter(([, bytes]) => bytes.length >= 12)
      .map(([name, bytes]) => ({ label: `${label} ${name}`, bytes })),
  ];
}

/**
 * Every text form a leaked secret (or a 12-byte window of it) could take. Decimal forms are
 * matched against the haystack without whitespace, since inspection aligns numbers in columns.
 */
function needles(secret: Secrets): { form: string; text: string }[] {
  const out: { form: string; text: string }[] = [];
  const b = secret.bytes;
  out.push({ form: "base64", text: b.toBase64() });
  out.push({ form: "base64url", text: b.toBase64({ alphabet: "base64url", omitPadding: true }) });
  for (let at = 0; at + 12 <= b.length; at += 4) {
    const w = b.subarray(at, at + 12);
    out.push({ form: "hex", text: w.toHex() });
    out.push({ form: "HEX", text: w.toHex().toUpperCase() });
    out.push({ form: "decimal list", text: [...w].join(",") });
    out.push({ form: "JSON object", text: [...w].map((v, i) => `"${at + i}":${v}`).join(",") });
    out.push({ form: "raw", text: String.fromCharCode(...w) });
  }
  return out;
}

/** The form in which `haystack` (or its whitespace-free copy `compact`) holds `secret`. */
function leakedForm(secret: Secrets, haystack: string, compact: string): string | undefined {
  for (const needle of needles(secret)) {
    const inCompact = needle.form === "decimal list" || needle.form === "JSON object";
    if ((inCompact ? compact : haystack).includes(needle.text)) return needle.form;
  }
  return undefined;
}

/** Text forms of everything reachable from `roots` through properties, getters and collections. */
function reachableText(roots: readonly unknown[]): string[] {
  const seen = new Set<unknown>();
  const texts: string[] = [];
  const queue = [...roots];
  while (queue.length > 0 && seen.size < 50_000) {
    const value = queue.shift();
    if (value === null || (typeof value !== "object" && typeof value !== "function")) continue;
    if (seen.has(value)) continue;
    seen.add(value);
    texts.push(Deno.inspect(value, { depth: 8, showHidden: true, iterableLimit: 1000 }));
    try {
      texts.push(String(value));
    } catch {
      // Objects without a string form (null prototype) have nothing to print.
    }
    try {
      texts.push(JSON.stringify(value) ?? "");
    } catch {
      // Cycles and BigInts: inspection above already covers them.
    }
    if (value instanceof Map) queue.push(...value.keys(), ...value.values());
    if (value instanceof Set) queue.push(...value.values());
    if (typeof value === "function") continue;
    for (const key of Reflect.ownKeys(value)) {
      try {
        queue.push((value as Record<PropertyKey, unknown>)[key]);
      } catch {
        // A getter that throws hides nothing.
      }
    }
    for (
      let p = Object.getPrototypeOf(value);
      p && p !== Object.prototype;
      p = Object.getPrototypeOf(p)
    ) {
      for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) {
        if (!d.get || key === "__proto__") continue;
        try {
          queue.push(Reflect.get(p, key, value));
        } catch {
          // Internal-slot getters of the wrong receiver.
        }
      }
    }
  }
  return texts;
}

/** Message, stack, inspection and JSON of an error and its causes. */
function errorText(error: unknown): string[] {
  const texts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && depth < 10; depth++) {
    texts.push(String(e), Deno.inspect(e, { depth: 8, showHidden: true }));
    try {
      texts.push(JSON.stringify(e) ?? "");
    } catch {
      // Inspection covers what JSON cannot.
    }
    if (e instanceof Error) {
      texts.push(e.message, e.stack ?? "");
      e = e.cause;
    } else {
      break;
    }
  }
  return texts;
}

const consoleMethods = ["log", "error", "warn", "info", "debug", "trace", "dir", "table"];

/** Runs `body` with every console method captured; returns what was printed. */
async function capturingConsole(body: () => Promise<void>): Promise<string[]> {
  const printed: string[] = [];
  // Reached through globalThis so the no-console lint keeps guarding real console use.
  const target = Reflect.get(globalThis, "console") as unknown as Record<string, unknown>;
  const saved = consoleMethods.map((m) => target[m]);
  for (const m of consoleMethods) {
    target[m] = (...args: unknown[]) => {
      printed.push(
        args.map((a) => typeof a === "string" ? a : Deno.inspect(a, { depth: 8 })).join(" "),
      );
    };
  }
  try {
    await body();
  } finally {
    consoleMethods.forEach((m, i) => (target[m] = saved[i]));
  }
  return printed;
}

interface Run {
  readonly secrets: Secrets[];
  readonly errors: unknown[];
  readonly objects: unknown[];
}

/** Reads the connection to its end, keeping (not throwing) whatever error ends it. */
async function readAll(tls: TlsConnection, errors: unknown[]): Promise<string> {
  try {
    return await new Response(tls.readable).text();
  } catch (error) {
    errors.push(error);
    return "";
  }
}

/** The secrets and objects of one connection, and record protectors made from its session. */
async function objectsOf(
  tls: TlsConnection,
  info: HandshakeInfo | undefined,
  provider: CryptoProvider,
  cache: SessionCache,
  key: string,
): Promise<unknown[]> {
  const objects: unknown[] = [tls, info, provider, cache, cache.get(key, Date.now())];
  // A session a fatal alert ended was invalidated and its master released by the cache.
  if (info?.session && isSessionResumable(info.session)) {
    objects.push(
      await provider.recordKeys(
        info.session.master,
        info.suite,
        { clientRandom: new Uint8Array(32), serverRandom: new Uint8Array(32) },
        { encryptThenMac: info.encryptThenMac },
      ),
    );
  }
  return objects;
}

async function scriptedRun(
  label: string,
  script: (hs: PeerHandshake, peer: ScriptedPeer) => Promise<void>,
): Promise<Run> {
  const { random, outputs } = recordingRandom();
  const provider = new SoftwareCryptoProvider({ random });
  const cache = new SessionCache();
  let handshake: PeerHandshake | undefined;
  const server = scriptedServer(async (peer) => {
    handshake = new PeerHandshake(peer, {
      serverHello: (hello) => ({ ...hello, sessionId: new Uint8Array(32).fill(0x5a) }),
    });
    await script(handshake, peer);
  });
  const errors: unknown[] = [];
  try {
    const tls = await connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      serverName: "localhost",
      caCerts: [root],
      provider,
      session: cache,
    });
    const info = await tls.handshake.catch((error) => {
      errors.push(error);
      return undefined;
    });
    if (info) {
      const writer = tls.writable.getWriter();
      await writer.write(new TextEncoder().encode("ping")).catch((e) => errors.push(e));
      writer.releaseLock();
      await readAll(tls, errors);
    }
    await tls.close();
    await server.done;
    const hs = handshake!;
    const pms = premasters(outputs);
    assert.ok(
      pms.some((p) => p.toHex() === hs.premaster!.toHex()),
      "the recorded random source yields the premaster the server decrypted",
    );
    return {
      secrets: [
        ...pms.map((bytes) => ({ label: `${label} premaster`, bytes })),
        ...keySecrets(label, hs.master!, hs.clientHello.random, hs.serverRandom, hs.suite),
      ],
      errors,
      objects: await objectsOf(tls, info, provider, cache, `localhost:${server.port}`),
    };
  } finally {
    await server.close();
  }
}

/**
 * A TCP relay that keeps the bytes each side sent (the server's ServerHello holds its random,
 * its ServerKeyExchange its ECDHE point; our ClientKeyExchange our ephemeral public key).
 */
function relay(
  target: number,
): { port: number; fromServer: Uint8Array[]; fromClient: Uint8Array[]; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const fromServer: Uint8Array[] = [];
  const fromClient: Uint8Array[] = [];
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.push(client, server);
      client.readable.pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            fromClient.push(chunk.slice());
            controller.enqueue(chunk);
          },
        }),
      ).pipeTo(server.writable).catch(() => {});
      server.readable.pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            fromServer.push(chunk.slice());
            controller.enqueue(chunk);
          },
        }),
      ).pipeTo(client.writable).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    fromServer,
    fromClient,
    close: () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Closed by the pipes already.
        }
      }
    },
  };
}

/** The body of the first handshake message of `type` among one side's plaintext records. */
function handshakeMessage(chunks: readonly Uint8Array[], type: number): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  const handshake: number[] = [];
  for (let r = 0; r + 5 <= bytes.length && bytes[r] === ContentType.handshake;) {
    const length = (bytes[r + 3]! << 8) | bytes[r + 4]!;
    handshake.push(...bytes.subarray(r + 5, r + 5 + length));
    r += 5 + length;
  }
  for (let m = 0; m + 4 <= handshake.length;) {
    const length = (handshake[m + 1]! << 16) | (handshake[m + 2]! << 8) | handshake[m + 3]!;
    if (handshake[m] === type) return Uint8Array.from(handshake.slice(m + 4, m + 4 + length));
    m += 4 + length;
  }
  throw new Error(`no handshake message ${type} in the plaintext records`);
}

/** The server's ECDHE group and point, from its ServerKeyExchange. */
function serverEcdhPoint(fromServer: readonly Uint8Array[]): { group: number; point: Uint8Array } {
  const body = handshakeMessage(fromServer, 12);
  assert.equal(body[0], 3, "named_curve");
  return { group: (body[1]! << 8) | body[2]!, point: body.subarray(4, 4 + body[3]!) };
}

/**
 * The ephemeral private key and ECDH premaster of an ECDHE handshake, from the provider's
 * recorded draws (after the client random) and the server's point.
 */
function ecdheSecrets(
  label: string,
  outputs: readonly Uint8Array[],
  server: { group: number; point: Uint8Array },
): Secrets[] {
  const draws = outputs.slice(1);
  if (server.group === NamedGroup.x25519) {
    const secret = draws.find((d) => d.length === 32)!;
    return [
      { label: `${label} ephemeral key`, bytes: secret },
      { label: `${label} premaster`, bytes: x25519.getSharedSecret(secret, server.point) },
    ];
  }
  assert.equal(server.group, NamedGroup.secp256r1);
  const seed = draws.find((d) => d.length === p256.lengths.seed)!;
  const secret = p256.utils.randomSecretKey(seed);
  return [
    { label: `${label} ephemeral key`, bytes: secret },
    { label: `${label} ephemeral key seed`, bytes: seed },
    {
      label: `${label} premaster`,
      bytes: p256.getSharedSecret(secret, server.point, true).subarray(1),
    },
  ];
}

async function opensslRun(
  tempDir: string,
  suiteName: string,
  ecdhe?: { pki: ServerIdentity; groups: readonly number[] },
): Promise<Run> {
  const keylog = `${tempDir}/keys-${suiteName}.log`;
  const peer = await startOpenSslServer({
    pki: ecdhe?.pki ?? fixedPki,
    ciphers: [suiteName],
    extraArgs: ["-keylogfile", keylog],
  });
  const proxy = relay(peer.port);
  const { random, outputs } = recordingRandom();
  const provider = new SoftwareCryptoProvider({ random });
  const cache = new SessionCache();
  const errors: unknown[] = [];
  try {
    const tls = await connectTls({
      hostname: "127.0.0.1",
      port: proxy.port,
      serverName: "localhost",
      caCerts: [root],
      provider,
      session: cache,
      ...(ecdhe ? { groups: ecdhe.groups } : {}),
    });
    const info = await tls.handshake;
    const writer = tls.writable.getWriter();
    await writer.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    writer.releaseLock();
    const page = await readAll(tls, errors);
    assert.match(page, /Cipher is/);
    await tls.close();

    const first = proxy.fromServer[0]!;
    assert.equal(first[0], ContentType.handshake);
    const serverRandom = first.slice(5 + 4 + 2, 5 + 4 + 2 + 32);
    const line = (await Deno.readTextFile(keylog)).split("\n").find((l) =>
      l.startsWith("CLIENT_RANDOM ")
    )!;
    const [, clientRandomHex, masterHex] = line.split(" ");
    const clientRandom = Uint8Array.fromHex(clientRandomHex!);
    assert.equal(outputs[0]!.toHex(), clientRandom.toHex(), "first draw is the client random");
    const master = Uint8Array.fromHex(masterHex!.trim());
    let exchanged: Secrets[];
    if (ecdhe) {
      const server = serverEcdhPoint(proxy.fromServer);
      assert.equal(server.group, ecdhe.groups[0], "the server took our first group");
      exchanged = ecdheSecrets(`openssl ${suiteName}`, outputs, server);
      // The recorded key is the one used: its public key is what our ClientKeyExchange sent.
      const sent = handshakeMessage(proxy.fromClient, 16);
      const ephemeral = exchanged[0]!.bytes;
      const ours = server.group === NamedGroup.x25519
        ? x25519.getPublicKey(ephemeral)
        : p256.getPublicKey(ephemeral, false);
      assert.equal(sent.subarray(1).toHex(), ours.toHex(), "the ephemeral key was recorded");
    } else {
      exchanged = premasters(outputs).map((bytes) => ({
        label: `openssl ${suiteName} premaster`,
        bytes,
      }));
    }
    return {
      secrets: [
        ...exchanged,
        ...keySecrets(
          `openssl ${suiteName}`,
          master,
          clientRandom,
          serverRandom,
          info.suite,
        ),
      ],
      errors,
      objects: await objectsOf(tls, info, provider, cache, `localhost:${proxy.port}`),
    };
  } finally {
    proxy.close();
    await peer.stop();
  }
}

Deno.test("secrets: no premaster, master secret or record key in anything printed, thrown or stringified", async () => {
  const tempDir = await Deno.makeTempDir({ prefix: "anchortls-secrets-" });
  const runs: Run[] = [];
  try {
    const printed = await capturingConsole(async () => {
      runs.push(await opensslRun(tempDir, "AES128-SHA256"));
      runs.push(await opensslRun(tempDir, "AES256-SHA"));
      runs.push(
        // P-256 offered too: in TLS 1.2 supported_groups also names the curves an ECDSA
        // certificate may be on (RFC 8422 §5.1.1), so without it s_server refuses its P-256 leaf.
        await opensslRun(tempDir, "ECDHE-ECDSA-AES128-GCM-SHA256", {
          pki: fixedEcPki,
          groups: [NamedGroup.x25519, NamedGroup.secp256r1],
        }),
      );
      runs.push(
        await opensslRun(tempDir, "ECDHE-RSA-CHACHA20-POLY1305", {
          pki: fixedPki,
          groups: [NamedGroup.secp256r1],
        }),
      );
      runs.push(
        await scriptedRun("scripted ok", async (hs, peer) => {
          await hs.complete();
          await peer.readRecord();
          await peer.send(ContentType.application_data, new TextEncoder().encode("pong"));
          await peer.send(ContentType.alert, Uint8Array.of(1, 0));
        }),
      );
      runs.push(
        await scriptedRun("scripted bad Finished", async (hs, peer) => {
          await hs.firstFlight();
          await hs.readClientFlight();
          await hs.changeCipherSpec();
          await peer.sendHandshake([hs.finished(true)]);
        }),
      );
      runs.push(
        await scriptedRun("scripted bad record MAC", async (hs, peer) => {
          await hs.complete();
          await peer.readRecord();
          // A record sealed under the client's keys cannot authenticate as the server's.
          const forged = await peer.pendingClientProtector!.seal(
            { type: ContentType.application_data, version: 0x0303, sequence: 1n },
            new TextEncoder().encode("forged"),
          );
          await peer.writeRaw(
            Uint8Array.of(
              ContentType.application_data,
              3,
              3,
              forged.length >> 8,
              forged.length & 0xff,
              ...forged,
            ),
          );
        }),
      );
    });
    const errors = runs.flatMap((r) => r.errors);
    assert.ok(errors.length >= 2, `the failing runs threw (${errors.length} errors)`);
    const haystack = [
      ...printed,
      ...errors.flatMap(errorText),
      ...reachableText(runs.flatMap((r) => r.objects)),
    ].join("\n");
    assert.ok(haystack.length > 10_000, "the connections were inspected");
    // The walk reached the key-holding objects and printed their redacted forms.
    assert.match(haystack, /CbcHmacProtector\(TLS_RSA_WITH_AES_\d+_CBC_SHA/);
    assert.match(haystack, /AeadProtector/);
    assert.match(haystack, /SoftwareSecret\(master, held\)/);
    assert.match(haystack, /decrypt_error/);
    assert.match(haystack, /bad_record_mac/);
    const secrets = runs.flatMap((r) => r.secrets);
    // Per RSA run: premaster, master secret, both directions' MAC and encryption keys; per
    // ECDHE run: ephemeral key (and for P-256 the seed it came from), premaster, master secret,
    // both encryption keys, and ChaCha20-Poly1305's two 12-byte IVs.
    assert.equal(secrets.length, 5 * 6 + 5 + 8);
    const compact = haystack.replace(/\s+/g, "");
    for (const secret of secrets) {
      const form = leakedForm(secret, haystack, compact);
      assert.equal(form, undefined, `${secret.label} leaked in ${form} form`);
    }
  } finally {
    await Deno.remove(tempDir, { recursive: true });
  }
});

Deno.test("secrets: the search finds a secret that is printed", () => {
  const secret = { label: "probe", bytes: crypto.getRandomValues(new Uint8Array(48)) };
  for (
    const text of [
      Deno.inspect({ key: secret.bytes }),
      JSON.stringify({ key: secret.bytes }),
      `key=${secret.bytes.toHex()}`,
      `key=${secret.bytes.toBase64()}`,
    ]
  ) {
    assert.ok(leakedForm(secret, text, text.replace(/\s+/g, "")), text);
  }
  const deep = reachableText([{ nested: [new Map([["k", { deep: secret.bytes }]])] }]).join("\n");
  assert.ok(leakedForm(secret, deep, deep.replace(/\s+/g, "")));
});
