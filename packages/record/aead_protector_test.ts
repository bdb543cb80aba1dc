import assert from "node:assert/strict";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { type AeadAlgorithm, AeadProtector } from "./aead_protector.ts";
import { AesCcm } from "./aes_ccm.ts";
import { AlertDescription, TlsAlertError } from "./alert.ts";

const APP = { type: 23, version: 0x0303, sequence: 0x0102030405060708n };
const DTLS = { type: 23, version: 0xfefd, sequence: (1n << 48n) | 5n };
const key16 = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const key32 = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
const salt = Uint8Array.of(0xa0, 0xa1, 0xa2, 0xa3);
const iv12 = Uint8Array.from({ length: 12 }, (_, i) => 0x70 + i);
const text = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");

function aad(context: typeof APP, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(13);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, context.sequence);
  out[8] = context.type;
  view.setUint16(9, context.version);
  view.setUint16(11, length);
  return out;
}

const seq8 = (s: bigint) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, s);
  return out;
};

Deno.test("AeadProtector: AES-GCM records are what WebCrypto makes of salt ‖ sequence and RFC 5246's AAD", async () => {
  for (const context of [APP, DTLS]) {
    const p = new AeadProtector({ algorithm: "aes-gcm", key: key16, iv: salt });
    const fragment = p.seal(context, text);
    const nonce = new Uint8Array([...salt, ...seq8(context.sequence)]);
    const webKey = await crypto.subtle.importKey("raw", key16, "AES-GCM", false, ["encrypt"]);
    const expected = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: nonce, additionalData: aad(context, text.length) },
        webKey,
        text,
      ),
    );
    assert.deepEqual(fragment, new Uint8Array([...seq8(context.sequence), ...expected]));
    assert.equal(fragment.length, text.length + p.maxExpansion);
    assert.deepEqual(p.open(context, fragment), text);
  }
});

Deno.test("AeadProtector: AES-CCM and CCM_8 carry the explicit nonce and seal as AES-CCM does", () => {
  for (const [algorithm, tag] of [["aes-ccm", 16], ["aes-ccm-8", 8]] as const) {
    const p = new AeadProtector({ algorithm, key: key16, iv: salt });
    const fragment = p.seal(APP, text);
    const nonce = new Uint8Array([...salt, ...seq8(APP.sequence)]);
    const expected = new AesCcm(key16, tag).seal(nonce, text, aad(APP, text.length));
    assert.deepEqual(fragment, new Uint8Array([...seq8(APP.sequence), ...expected]));
    assert.equal(p.maxExpansion, 8 + tag);
    assert.deepEqual(p.open(APP, fragment), text);
  }
});

Deno.test("AeadProtector: ChaCha20-Poly1305 XORs the sequence into the IV and carries no nonce (RFC 7905 §2)", () => {
  const p = new AeadProtector({ algorithm: "chacha20-poly1305", key: key32, iv: iv12 });
  const fragment = p.seal(DTLS, text);
  const nonce = iv12.slice();
  const s = seq8(DTLS.sequence);
  for (let i = 0; i < 8; i++) nonce[4 + i]! ^= s[i]!;
  assert.deepEqual(fragment, chacha20poly1305(key32, nonce, aad(DTLS, text.length)).encrypt(text));
  assert.equal(p.maxExpansion, 16);
  assert.deepEqual(p.open(DTLS, fragment), text);
});

const ALGORITHMS: [AeadAlgorithm, Uint8Array, Uint8Array][] = [
  ["aes-gcm", key32, salt],
  ["aes-ccm", key16, salt],
  ["aes-ccm-8", key16, salt],
  ["chacha20-poly1305", key32, iv12],
];

Deno.test("AeadProtector: a changed byte, type, version or sequence number is bad_record_mac", () => {
  const isBadMac = (e: unknown) =>
    e instanceof TlsAlertError && e.description === AlertDescription.bad_record_mac;
  for (const [algorithm, key, iv] of ALGORITHMS) {
    const p = new AeadProtector({ algorithm, key, iv });
    const fragment = p.seal(APP, text);
    for (let at = 0; at < fragment.length; at++) {
      const bad = fragment.slice();
      bad[at]! ^= 0x01;
      assert.throws(() => p.open(APP, bad), isBadMac, `${algorithm} byte ${at}`);
    }
    for (
      const other of [{ ...APP, type: 22 }, { ...APP, version: 0x0302 }, { ...APP, sequence: 1n }]
    ) {
      assert.throws(() => p.open(other, fragment), isBadMac, algorithm);
    }
    assert.throws(() => p.open(APP, fragment.subarray(0, p.maxExpansion - 1)), isBadMac);
    assert.deepEqual(p.open(APP, p.seal(APP, new Uint8Array(0))), new Uint8Array(0));
  }
});

Deno.test("AeadProtector: nonces follow the sequence number, so two records never share one", () => {
  const p = new AeadProtector({ algorithm: "aes-gcm", key: key16, iv: salt });
  const a = p.seal({ ...APP, sequence: 7n }, text);
  const b = p.seal({ ...APP, sequence: 8n }, text);
  assert.deepEqual(a.subarray(0, 8), seq8(7n));
  assert.deepEqual(b.subarray(0, 8), seq8(8n));
  assert.notDeepEqual(a.subarray(8), b.subarray(8));
});

Deno.test("AeadProtector: wrong key or IV lengths are refused, and a destroyed protector works no more", () => {
  assert.throws(
    () => new AeadProtector({ algorithm: "aes-gcm", key: key16, iv: iv12 }),
    RangeError,
  );
  assert.throws(
    () => new AeadProtector({ algorithm: "chacha20-poly1305", key: key16, iv: iv12 }),
    RangeError,
  );
  for (const [algorithm, key, iv] of ALGORITHMS) {
    const p = new AeadProtector({ algorithm, key, iv });
    p.destroy();
    assert.throws(() => p.seal(APP, text), TypeError);
    assert.throws(() => p.open(APP, new Uint8Array(40)), TypeError);
  }
});
