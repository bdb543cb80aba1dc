import assert from "node:assert/strict";
import { CipherSuites, ProtocolVersion } from "@anchortls/record";
import type { MasterSecretHandle } from "./crypto_provider.ts";
import {
  invalidateSession,
  isSessionResumable,
  SessionCache,
  type TlsSession,
  trustAnchorDigest,
} from "./session_cache.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";

async function session(provider: SoftwareCryptoProvider, createdAt: number): Promise<TlsSession> {
  const { premaster } = await provider.encryptPremaster({
    kind: "rsa",
    modulus: (1n << 2047n) + 1n,
    exponent: 65537n,
    bits: 2048,
    spki: new Uint8Array(0),
  });
  const master = await provider.masterSecret(premaster, {
    extendedMasterSecret: true,
    sessionHash: new Uint8Array(32),
  });
  return {
    id: new Uint8Array(32).fill(createdAt % 256),
    master,
    provider,
    version: ProtocolVersion.tls12,
    suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
    extendedMasterSecret: true,
    peerCertificates: [],
    serverName: "localhost",
    createdAt,
    trustDigest: trustAnchorDigest([]),
  };
}

async function isReleased(
  provider: SoftwareCryptoProvider,
  master: MasterSecretHandle,
): Promise<boolean> {
  try {
    await provider.finished(master, "client finished", new Uint8Array(32));
    return false;
  } catch {
    return true;
  }
}

Deno.test("SessionCache: expiry, replacement and eviction release master secrets", async () => {
  const provider = new SoftwareCryptoProvider();
  const cache = new SessionCache({ maxEntries: 2, lifetimeMs: 1000 });
  const a = await session(provider, 1000);
  cache.set("a", a);
  assert.equal(cache.get("a", 1500), a);
  assert.equal(cache.get("a", 2001), undefined);
  await Promise.resolve();
  assert.ok(await isReleased(provider, a.master));

  const b = await session(provider, 3000);
  const b2 = await session(provider, 3001);
  cache.set("b", b);
  cache.set("b", b);
  assert.equal(await isReleased(provider, b.master), false, "re-storing the same session keeps it");
  cache.set("b", b2);
  assert.ok(await isReleased(provider, b.master));

  const c = await session(provider, 3002);
  const d = await session(provider, 3003);
  cache.set("c", c);
  cache.set("d", d);
  assert.equal(cache.size, 2);
  assert.equal(cache.get("b", 3100), undefined, "oldest evicted");
  assert.ok(await isReleased(provider, b2.master));
  cache.clear();
  assert.equal(cache.size, 0);
  assert.ok(await isReleased(provider, d.master));
});

Deno.test("SessionCache: refuses a session without EMS", async () => {
  const provider = new SoftwareCryptoProvider();
  const s = {
    ...(await session(provider, 0)),
    extendedMasterSecret: false,
  } as unknown as TlsSession;
  assert.throws(() => new SessionCache().set("x", s), TypeError);
});

Deno.test("SessionCache: a session a fatal alert ended is dropped at lookup and released", async () => {
  const provider = new SoftwareCryptoProvider();
  const cache = new SessionCache();
  const s = await session(provider, 1000);
  cache.set("a", s);
  assert.equal(cache.get("a", 1001), s);
  invalidateSession(s);
  assert.equal(isSessionResumable(s), false);
  assert.equal(cache.get("a", 1002), undefined);
  assert.equal(cache.size, 0);
  assert.ok(await isReleased(provider, s.master));
});

Deno.test("trustAnchorDigest: a set — order and repeats do not matter, members do", () => {
  const a = { der: Uint8Array.of(1) } as Parameters<typeof trustAnchorDigest>[0][number];
  const b = { der: Uint8Array.of(2) } as typeof a;
  assert.equal(trustAnchorDigest([a, b]), trustAnchorDigest([b, a, b]));
  assert.notEqual(trustAnchorDigest([a]), trustAnchorDigest([a, b]));
});
