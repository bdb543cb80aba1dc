import assert from "node:assert/strict";
import { CipherSuites, protectorForSuite } from "@anchortls/record";
import { sha256 } from "@noble/hashes/sha2.js";
import { deriveKeyBlock, deriveMasterSecret, finishedVerifyData } from "./key_schedule.ts";
import { SignatureScheme } from "./signature_scheme.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";

function pem(label: string, der: Uint8Array): string {
  const b64 = der.toBase64().replace(/.{64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

async function rsaKey(): Promise<{ pkcs8: Uint8Array; publicKey: CryptoKey; jwk: JsonWebKey }> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSA-PSS",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  return {
    pkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    publicKey: pair.publicKey,
    jwk: await crypto.subtle.exportKey("jwk", pair.publicKey),
  };
}

function bigintOf(b64url: string): bigint {
  return BigInt("0x" + Uint8Array.fromBase64(b64url, { alphabet: "base64url" }).toHex());
}

Deno.test("SoftwareCryptoProvider: key exchange matches the key schedule end to end", async () => {
  const key = await rsaKey();
  const modulus = bigintOf(key.jwk.n!);
  const provider = new SoftwareCryptoProvider();
  const { encrypted, premaster } = await provider.encryptPremaster({
    kind: "rsa",
    modulus,
    exponent: 65537n,
    bits: 2048,
    spki: new Uint8Array(0),
  });
  assert.equal(encrypted.length, 256);
  assert.equal(premaster.kind, "premaster");
  assert.doesNotMatch(Deno.inspect(premaster), /[0-9a-f]{16}/);

  const randoms = {
    clientRandom: new Uint8Array(32).fill(1),
    serverRandom: new Uint8Array(32).fill(2),
  };
  const sessionHash = sha256(new Uint8Array([1, 2, 3]));
  const master = await provider.masterSecret(premaster, {
    extendedMasterSecret: true,
    sessionHash,
  });
  await provider.release(premaster);
  await assert.rejects(
    () => provider.masterSecret(premaster, { extendedMasterSecret: true, sessionHash }),
    /released/,
  );

  const suite = CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256;
  const keys = await provider.recordKeys(master, suite, randoms, { encryptThenMac: true });
  const context = { type: 23, version: 0x0303, sequence: 5n };
  const sealed = await keys.client.seal(context, new TextEncoder().encode("hello"));
  const verify = await provider.finished(master, "client finished", sessionHash);
  assert.equal(verify.length, 12);
  assert.notDeepEqual(verify, await provider.finished(master, "server finished", sessionHash));
  assert.ok(sealed.length > 5);
  await provider.release(master);
  await assert.rejects(() => provider.finished(master, "client finished", sessionHash), /released/);
});

Deno.test("SoftwareCryptoProvider: handles from another provider are refused", async () => {
  const a = new SoftwareCryptoProvider();
  const b = new SoftwareCryptoProvider();
  const { premaster } = await a.encryptPremaster({
    kind: "rsa",
    modulus: (1n << 2047n) + 1n,
    exponent: 65537n,
    bits: 2048,
    spki: new Uint8Array(0),
  });
  await assert.rejects(
    () =>
      b.masterSecret(premaster, { extendedMasterSecret: true, sessionHash: new Uint8Array(32) }),
    TypeError,
  );
  await assert.rejects(() => b.release(premaster), TypeError);
  await assert.rejects(
    () =>
      a.encryptPremaster({
        kind: "ec",
        curve: "P-256",
        point: new Uint8Array(65),
        spki: new Uint8Array(0),
      }),
    TypeError,
  );
});

Deno.test("SoftwareCryptoProvider: record keys are the RFC key block split", async () => {
  const fixed = new Uint8Array(48).fill(9);
  const provider = new SoftwareCryptoProvider({ random: (n) => fixed.slice(0, n) });
  const { premaster } = await provider.encryptPremaster({
    kind: "rsa",
    modulus: (1n << 2047n) + 1n,
    exponent: 65537n,
    bits: 2048,
    spki: new Uint8Array(0),
  });
  const randoms = {
    clientRandom: new Uint8Array(32).fill(3),
    serverRandom: new Uint8Array(32).fill(4),
  };
  const master = await provider.masterSecret(premaster, {
    extendedMasterSecret: false,
    ...randoms,
  });

  const pms = fixed.slice();
  pms.set([3, 3]);
  const ms = deriveMasterSecret(pms, { extendedMasterSecret: false, ...randoms });
  const transcript = new Uint8Array(32).fill(5);
  assert.deepEqual(
    await provider.finished(master, "server finished", transcript),
    finishedVerifyData(ms, "server finished", transcript),
  );

  for (const suite of Object.values(CipherSuites)) {
    for (const encryptThenMac of [false, true]) {
      const keys = await provider.recordKeys(master, suite, randoms, { encryptThenMac });
      const block = deriveKeyBlock(ms, randoms.clientRandom, randoms.serverRandom, suite);
      const serverPeer = protectorForSuite(suite, {
        encKey: block.serverEncKey,
        macKey: block.serverMacKey,
        iv: block.serverIv,
      }, { encryptThenMac });
      const clientPeer = protectorForSuite(suite, {
        encKey: block.clientEncKey,
        macKey: block.clientMacKey,
        iv: block.clientIv,
      }, { encryptThenMac });
      const ctx = { type: 23, version: 0x0303, sequence: 1n };
      const msg = new TextEncoder().encode(`${suite.name} etm=${encryptThenMac}`);
      assert.deepEqual(await keys.server.open(ctx, await serverPeer.seal(ctx, msg)), msg);
      assert.deepEqual(await clientPeer.open(ctx, await keys.client.seal(ctx, msg)), msg);
    }
  }
});

Deno.test("SoftwareCryptoProvider: RSA client key signs PSS and PKCS#1 v1.5", async () => {
  const key = await rsaKey();
  const provider = await SoftwareCryptoProvider.create({
    clientCertificate: {
      chain: [new Uint8Array([0x30, 0])],
      privateKey: pem("PRIVATE KEY", key.pkcs8),
    },
  });
  assert.ok(provider.signatureSchemes.includes(SignatureScheme.rsa_pkcs1_sha256));
  assert.ok(provider.signatureSchemes.includes(SignatureScheme.rsa_pss_rsae_sha256));
  assert.deepEqual(await provider.certificateChain(), [new Uint8Array([0x30, 0])]);
  const data: Uint8Array<ArrayBuffer> = new TextEncoder().encode("handshake messages");
  const pss = await provider.sign(SignatureScheme.rsa_pss_rsae_sha256, data);
  assert.ok(
    await crypto.subtle.verify(
      { name: "RSA-PSS", saltLength: 32 },
      key.publicKey,
      pss as BufferSource,
      data,
    ),
  );
  const pkcs1 = await provider.sign(SignatureScheme.rsa_pkcs1_sha256, data);
  const verifier = await crypto.subtle.importKey(
    "jwk",
    { ...key.jwk, alg: "RS256" },
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["verify"],
  );
  assert.ok(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", verifier, pkcs1 as BufferSource, data));
  await assert.rejects(
    () => provider.sign(SignatureScheme.ecdsa_secp256r1_sha256, data),
    RangeError,
  );
  await assert.rejects(
    () => new SoftwareCryptoProvider().sign(SignatureScheme.rsa_pkcs1_sha256, data),
    TypeError,
  );
});

Deno.test("SoftwareCryptoProvider: P-256 key signs ECDSA in DER form", async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const provider = await SoftwareCryptoProvider.create({
    clientCertificate: { chain: [new Uint8Array(1)], privateKey: pkcs8 },
  });
  assert.deepEqual(provider.signatureSchemes, [SignatureScheme.ecdsa_secp256r1_sha256]);
  const data: Uint8Array<ArrayBuffer> = new Uint8Array([1, 2, 3]);
  const sig = await provider.sign(SignatureScheme.ecdsa_secp256r1_sha256, data);
  assert.equal(sig[0], 0x30);
  // DER → raw r‖s for WebCrypto.
  const raw = new Uint8Array(64);
  let at = 2;
  for (const half of [0, 32]) {
    const len = sig[at + 1]!;
    const int = sig.subarray(at + 2, at + 2 + len);
    const trimmed = int[0] === 0 ? int.subarray(1) : int;
    raw.set(trimmed, half + 32 - trimmed.length);
    at += 2 + len;
  }
  assert.equal(at, sig.length);
  assert.ok(
    await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pair.publicKey, raw, data),
  );
  assert.doesNotMatch(Deno.inspect(provider), /BEGIN|[0-9a-f]{32}/);
});

Deno.test("SoftwareCryptoProvider: a PKCS#1 RSA PEM key is accepted, garbage is not", async () => {
  const out = await new Deno.Command("openssl", {
    args: ["genrsa", "-traditional", "1024"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const pkcs1Pem = new TextDecoder().decode(out.stdout);
  assert.match(pkcs1Pem, /BEGIN RSA PRIVATE KEY/);
  const provider = await SoftwareCryptoProvider.create({
    clientCertificate: { chain: [new Uint8Array(1)], privateKey: pkcs1Pem },
  });
  assert.ok(provider.signatureSchemes.includes(SignatureScheme.rsa_pkcs1_sha256));
  await assert.rejects(
    () =>
      SoftwareCryptoProvider.create({
        clientCertificate: { chain: [new Uint8Array(1)], privateKey: "nope" },
      }),
    TypeError,
  );
  await assert.rejects(
    () => SoftwareCryptoProvider.create({ clientCertificate: { chain: [], privateKey: pkcs1Pem } }),
    TypeError,
  );
});

Deno.test("SoftwareCryptoProvider: a released premaster's bytes are all zero", async () => {
  const handedOut: Uint8Array[] = [];
  const provider = new SoftwareCryptoProvider({
    random: (n) => {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      handedOut.push(bytes);
      return bytes;
    },
  });
  const { premaster } = await provider.encryptPremaster({
    kind: "rsa",
    modulus: (1n << 2047n) + 1n,
    exponent: 65537n,
    bits: 2048,
    spki: new Uint8Array(0),
  });
  // The 48-byte buffer the premaster was made in is the one the handle holds.
  const held = handedOut.find((b) => b.length === 48)!;
  assert.ok(held.some((b) => b !== 0));
  await provider.release(premaster);
  assert.ok(held.every((b) => b === 0), "zeroed on release");
});
