/**
 * No secret leaves through text: full handshakes with the software provider (against
 * `openssl s_server` and the scripted loopback server, succeeding and failing after the keys
 * exist) run while every console method is stubbed; then everything the client logged, every
 * error it threw (message, stack, causes, inspection, JSON), and every object reachable from
 * the connections, handshake infos, provider, session cache and record protectors — as
 * `Deno.inspect`, `String()` and `JSON.stringify` give them — is searched for the premaster,
 * master secret and record keys of each handshake, in hex, base64, decimal-list and raw form.
 *
 * The secrets come from outside the client: the premaster from a recording random source
 * given to the provider (and checked against what the scripted server decrypted), the master
 * secret from the server (the scripted server's own derivation, openssl's key log), and the
 * record keys from the exported key schedule.
 */

import assert from "node:assert/strict";
import {
  type CryptoProvider,
  deriveKeyBlock,
  type HandshakeInfo,
  isSessionResumable,
  SessionCache,
  SoftwareCryptoProvider,
} from "@anchortls/handshake";
import { type CipherSuite, ContentType } from "@anchortls/record";
import { connectTls, type TlsConnection } from "./mod.ts";
import { fixedPki, fixedPkiFile, startOpenSslServer } from "@anchortls/testing";
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
    ...Object.entries(keys).filter(([, bytes]) => bytes.length > 0)
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

/** A TCP relay that keeps the first bytes the server sent (its ServerHello holds its random). */
function relay(target: number): { port: number; fromServer: Uint8Array[]; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const fromServer: Uint8Array[] = [];
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.push(client, server);
      client.readable.pipeTo(server.writable).catch(() => {});
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

async function opensslRun(tempDir: string, suiteName: string): Promise<Run> {
  const keylog = `${tempDir}/keys-${suiteName}.log`;
  const peer = await startOpenSslServer({
    pki: fixedPki,
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
    return {
      secrets: [
        ...premasters(outputs).map((bytes) => ({ label: `openssl ${suiteName} premaster`, bytes })),
        ...keySecrets(
          `openssl ${suiteName}`,
          Uint8Array.fromHex(masterHex!.trim()),
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
    assert.match(haystack, /SoftwareSecret\(master, held\)/);
    assert.match(haystack, /decrypt_error/);
    assert.match(haystack, /bad_record_mac/);
    const secrets = runs.flatMap((r) => r.secrets);
    // Per run: premaster, master secret, and both directions' MAC and encryption keys.
    assert.equal(secrets.length, 5 * 6);
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
