import assert from "node:assert/strict";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { HashName, SignatureAlgorithm } from "./algorithm.ts";
import { DerReader } from "./der.ts";
import {
  ecdsaDerToP1363,
  mgf1,
  pkcs1Encoding,
  rsaKeyInBounds,
  signatureAlgorithmForScheme,
  verifySignature,
} from "./signature.ts";
import { modPow } from "./rsa.ts";
import { fixture, testdata } from "./_test_util.ts";

const message = new TextEncoder().encode("anchortls signed message");
const leaf = fixture("leaf.pem");
const rsaKey = leaf.publicKey;
assert.ok(rsaKey.kind === "rsa");
const k = rsaKey.bits / 8;
const pkcs1Sha256: SignatureAlgorithm = signatureAlgorithmForScheme(0x0401)!;

function pkcs8(file: string): Uint8Array {
  const text = Deno.readTextFileSync(new URL(file, testdata));
  const b64 = /-----BEGIN PRIVATE KEY-----([^-]*)-----END/.exec(text)![1]!.replace(/\s+/g, "");
  return Uint8Array.fromBase64(b64);
}

/** The RSA private exponent of leaf.key, for signing hand-built encodings. */
function privateExponent(): bigint {
  const info = new DerReader(pkcs8("leaf.key")).readSequence();
  info.readSmallInteger();
  info.readSequence();
  const key = new DerReader(info.readOctetString()).readSequence();
  key.readSmallInteger();
  assert.equal(key.readUnsignedBigInt(), rsaKey.kind === "rsa" && rsaKey.modulus);
  key.readUnsignedBigInt();
  return key.readUnsignedBigInt();
}
const d = privateExponent();

/** Raw RSA signature over an arbitrary encoded message. */
function rawSign(em: Uint8Array): Uint8Array {
  assert.ok(rsaKey.kind === "rsa");
  const s = modPow(BigInt("0x" + em.toHex()), d, rsaKey.modulus);
  return Uint8Array.fromHex(s.toString(16).padStart(2 * k, "0"));
}

async function webCryptoKey(
  algorithm: RsaHashedImportParams | EcKeyImportParams,
  file: string,
): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "pkcs8",
    pkcs8(file) as Uint8Array<ArrayBuffer>,
    algorithm,
    false,
    ["sign"],
  );
}

Deno.test("signature: PKCS#1 v1.5 from WebCrypto verifies, tampering does not", async () => {
  const key = await webCryptoKey({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, "leaf.key");
  const sig = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, message));
  assert.equal(await verifySignature(rsaKey, pkcs1Sha256, message, sig), true);
  assert.deepEqual(rawSign(pkcs1Encoding("SHA-256", message, k)!), sig);
  assert.equal(await verifySignature(rsaKey, pkcs1Sha256, message.subarray(1), sig), false);
  const flipped = sig.slice();
  flipped[100]! ^= 1;
  assert.equal(await verifySignature(rsaKey, pkcs1Sha256, message, flipped), false);
  const sha384 = signatureAlgorithmForScheme(0x0501)!;
  assert.equal(await verifySignature(rsaKey, sha384, message, sig), false);
  assert.equal(await verifySignature(rsaKey, pkcs1Sha256, message, sig.subarray(1)), false);
  const padded = new Uint8Array(k + 1);
  padded.set(sig, 1);
  assert.equal(await verifySignature(rsaKey, pkcs1Sha256, message, padded), false);
});

Deno.test("signature: PKCS#1 v1.5 refuses every near-miss encoding (forgery classes)", async () => {
  const digest = sha256(message);
  const prefix = pkcs1Encoding("SHA-256", message, k)!.subarray(k - 51, k - 32);
  const build = (t: Uint8Array, ps = k - t.length - 3, first = 0x01): Uint8Array => {
    const em = new Uint8Array(k);
    em[1] = first;
    em.fill(0xff, 2, 2 + ps);
    em.set(t, 3 + ps);
    return em;
  };
  const good = build(new Uint8Array([...prefix, ...digest]));
  assert.equal(await verifySignature(rsaKey, pkcs1Sha256, message, rawSign(good)), true);
  const noNull = Uint8Array.fromHex("302f300b0609608648016503040201" + "0420");
  const longLen = Uint8Array.fromHex("30820031300d060960864801650304020105000420");
  const variants: Record<string, Uint8Array> = {
    "DigestInfo without NULL": build(new Uint8Array([...noNull, ...digest])),
    "DigestInfo with a non-minimal length": build(new Uint8Array([...longLen, ...digest])),
    "garbage after the digest": build(new Uint8Array([...prefix, ...digest, 0, 0, 0, 0])),
    "block type 2": build(new Uint8Array([...prefix, ...digest]), undefined, 0x02),
    "padding bytes that are not FF": (() => {
      const t = new Uint8Array([...prefix, ...digest]);
      const em = build(t);
      em.fill(0x00, 10, k - t.length - 1); // zeros where FF padding belongs
      return em;
    })(),
    "SHA-1 DigestInfo": build(
      new Uint8Array([
        ...Uint8Array.fromHex("3021300906052b0e03021a05000414"),
        ...digest.subarray(0, 20),
      ]),
    ),
  };
  for (const [what, em] of Object.entries(variants)) {
    assert.equal(await verifySignature(rsaKey, pkcs1Sha256, message, rawSign(em)), false, what);
  }
  assert.ok(rsaKey.kind === "rsa");
  const tooBig = Uint8Array.fromHex((rsaKey.modulus + 1n).toString(16).padStart(2 * k, "0"));
  assert.equal(await verifySignature(rsaKey, pkcs1Sha256, message, tooBig), false);
});

Deno.test("signature: RSA-PSS checks salt length, trailer and hash", async () => {
  const key = await webCryptoKey({ name: "RSA-PSS", hash: "SHA-256" }, "leaf.key");
  for (const saltLength of [0, 20, 32, 64]) {
    const sig = new Uint8Array(
      await crypto.subtle.sign({ name: "RSA-PSS", saltLength }, key, message),
    );
    const alg = (s: number, mgfHash: HashName = "SHA-256"): SignatureAlgorithm => ({
      kind: "rsa-pss",
      hash: "SHA-256",
      mgfHash,
      saltLength: s,
      oid: "1.2.840.113549.1.1.10",
    });
    assert.equal(await verifySignature(rsaKey, alg(saltLength), message, sig), true);
    assert.equal(await verifySignature(rsaKey, alg(saltLength + 1), message, sig), false);
    if (saltLength > 0) {
      assert.equal(await verifySignature(rsaKey, alg(saltLength - 1), message, sig), false);
    }
    assert.equal(
      await verifySignature(rsaKey, alg(saltLength, "SHA-1"), message, sig),
      false,
    );
    assert.equal(await verifySignature(rsaKey, alg(saltLength), message.subarray(1), sig), false);
  }
  // A valid PSS block with its trailer byte changed from BC.
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, key, message),
  );
  assert.ok(rsaKey.kind === "rsa");
  const em = Uint8Array.fromHex(
    modPow(BigInt("0x" + sig.toHex()), rsaKey.exponent, rsaKey.modulus).toString(16).padStart(
      2 * k,
      "0",
    ),
  );
  assert.equal(em[k - 1], 0xbc);
  em[k - 1] = 0xbb;
  const alg = signatureAlgorithmForScheme(0x0804)!;
  assert.equal(await verifySignature(rsaKey, alg, message, rawSign(em)), false);
  em[k - 1] = 0xbc;
  assert.equal(await verifySignature(rsaKey, alg, message, rawSign(em)), true);
});

/** DER ECDSA-Sig-Value from r ‖ s. */
function toDer(p1363: Uint8Array): Uint8Array {
  const half = p1363.length / 2;
  const int = (v: Uint8Array): number[] => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const body = [...v.subarray(i)];
    if (body[0]! & 0x80) body.unshift(0);
    return [0x02, body.length, ...body];
  };
  const content = [...int(p1363.subarray(0, half)), ...int(p1363.subarray(half))];
  return Uint8Array.from([
    0x30,
    ...(content.length > 127 ? [0x81] : []),
    content.length,
    ...content,
  ]);
}

Deno.test("signature: ECDSA P-256 and P-384 through WebCrypto with strict DER", async () => {
  for (
    const [file, curve, hash] of [["ec-leaf.key", "P-256", "SHA-256"], [
      "ec-chain-leaf.key",
      "P-256",
      "SHA-384",
    ]] as const
  ) {
    const key = await webCryptoKey({ name: "ECDSA", namedCurve: curve }, file);
    const cert = fixture(file.replace(".key", ".pem"));
    const p1363 = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash }, key, message));
    const alg: SignatureAlgorithm = { kind: "ecdsa", hash, oid: "" };
    const der = toDer(p1363);
    assert.deepEqual(ecdsaDerToP1363(der, 32), p1363);
    assert.equal(await verifySignature(cert.publicKey, alg, message, der), true);
    assert.equal(await verifySignature(cert.publicKey, alg, message.subarray(1), der), false);
    assert.equal(await verifySignature(cert.publicKey, alg, message, p1363), false);
    assert.equal(await verifySignature(rsaKey, alg, message, der), false);
    assert.equal(await verifySignature(cert.publicKey, pkcs1Sha256, message, der), false);
  }
  const ca = fixture("ec-intermediate.pem");
  const chainLeaf = fixture("ec-chain-leaf.pem");
  assert.equal(
    await verifySignature(
      ca.publicKey,
      chainLeaf.signatureAlgorithm,
      chainLeaf.tbs,
      chainLeaf.signature,
    ),
    true,
  );
});

Deno.test("signature: ECDSA DER conversion is strict", () => {
  const r = "01".repeat(32), s = "02".repeat(32);
  const ok = Uint8Array.fromHex(`3044 0220${r} 0220${s}`.replaceAll(" ", ""));
  assert.deepEqual(ecdsaDerToP1363(ok, 32), Uint8Array.fromHex(r + s));
  const bad = [
    `3045 022100${r} 0220${s}`, // non-minimal r
    `3044 0220${"81".repeat(32)} 0220${s}`, // negative r
    `3045 0221${"01".repeat(33)} 0220${s}`, // r too long for P-256
    `3025 020100 0220${s}`, // r = 0
    `3046 0220${r} 0220${s} 0500`, // extra element
    `3044 0220${r} 0220${s} 00`, // trailing byte
    `3180 0220${r} 0220${s} 0000`, // indefinite SET
  ];
  for (const hex of bad) {
    assert.equal(ecdsaDerToP1363(Uint8Array.fromHex(hex.replaceAll(" ", "")), 32), undefined, hex);
  }
  const small = Uint8Array.fromHex(`3006 020101 020102`.replaceAll(" ", ""));
  const out = ecdsaDerToP1363(small, 32)!;
  assert.equal(out[31], 1);
  assert.equal(out[63], 2);
});

Deno.test("signature: RSA keys beyond the cost bounds verify nothing", async () => {
  assert.ok(rsaKey.kind === "rsa");
  const key = await webCryptoKey({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, "leaf.key");
  const sig = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, message));
  assert.equal(rsaKeyInBounds(rsaKey), true);
  const hugeExponent = { ...rsaKey, exponent: (1n << 4000n) + 1n };
  assert.equal(rsaKeyInBounds(hugeExponent), false);
  assert.equal(await verifySignature(hugeExponent, pkcs1Sha256, message, sig), false);
  assert.equal(rsaKeyInBounds({ bits: 8193, exponent: 65537n }), false);
  assert.equal(rsaKeyInBounds({ bits: 8192, exponent: (1n << 32n) - 1n }), true);
});

Deno.test("signature: unsupported pairs and algorithms are false, never a throw", async () => {
  const ed = fixture("ed25519-leaf.pem");
  assert.equal(
    await verifySignature(ed.publicKey, pkcs1Sha256, message, new Uint8Array(64)),
    false,
  );
  assert.equal(
    await verifySignature(
      rsaKey,
      { kind: "unsupported", oid: "1.3.101.112" },
      message,
      new Uint8Array(k),
    ),
    false,
  );
  assert.equal(signatureAlgorithmForScheme(0x0807), undefined);
});

Deno.test("mgf1: known answers with SHA-1 and SHA-256, across a block boundary", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assert.equal(mgf1(sha1, text("foo"), 3).toHex(), "1ac907");
  assert.equal(mgf1(sha1, text("foo"), 5).toHex(), "1ac9075cd4");
  assert.equal(mgf1(sha1, text("bar"), 5).toHex(), "bc0c655e01");
  assert.equal(
    mgf1(sha1, text("bar"), 50).toHex(),
    "bc0c655e016bc2931d85a2e675181adcef7f581f76df2739da74faac41627be2f7f415c89e983fd0ce80ced9878641cb4876",
  );
  assert.equal(
    mgf1(sha256, text("bar"), 50).toHex(),
    "382576a7841021cc28fc4c0948753fb8312090cea942ea4c4e735d10dc724b155f9f6069f289d61daca0cb814502ef04eae1",
  );
  assert.equal(mgf1(sha256, text("bar"), 0).length, 0);
});
