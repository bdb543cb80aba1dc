import assert from "node:assert/strict";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  type AeadAlgorithm,
  type AeadEngine,
  type AeadEngineChoice,
  createAeadEngine,
  WEBCRYPTO_GCM_THRESHOLD,
} from "./aead_engine.ts";
import { AeadProtector } from "./aead_protector.ts";
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

/** Which built-in engines each algorithm has. */
const ENGINES: Readonly<Record<AeadAlgorithm, readonly AeadEngineChoice[]>> = {
  "aes-gcm": ["auto", "node", "noble", "webcrypto"],
  "aes-ccm": ["auto", "node", "noble"],
  "aes-ccm-8": ["auto", "node", "noble"],
  "chacha20-poly1305": ["auto", "node", "noble"],
};

Deno.test("AeadProtector: AES-GCM records are what WebCrypto makes of salt ‖ sequence and RFC 5246's AAD, on every engine", async () => {
  for (
    const [context, engine] of [APP, DTLS].flatMap((c) =>
      ENGINES["aes-gcm"].map((e) => [c, e] as const)
    )
  ) {
    const p = new AeadProtector({ algorithm: "aes-gcm", key: key16, iv: salt, engine });
    const fragment = await p.seal(context, text);
    const nonce = new Uint8Array([...salt, ...seq8(context.sequence)]);
    const webKey = await crypto.subtle.importKey("raw", key16, "AES-GCM", false, ["encrypt"]);
    const expected = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: nonce, additionalData: aad(context, text.length) },
        webKey,
        text,
      ),
    );
    assert.deepEqual(fragment, new Uint8Array([...seq8(context.sequence), ...expected]), engine);
    assert.equal(fragment.length, text.length + p.maxExpansion);
    assert.deepEqual(await p.open(context, fragment), text);
  }
});

Deno.test("AeadProtector: AES-CCM and CCM_8 carry the explicit nonce and seal as AES-CCM does, on every engine", async () => {
  for (const [algorithm, tag] of [["aes-ccm", 16], ["aes-ccm-8", 8]] as const) {
    for (const engine of ENGINES[algorithm]) {
      const p = new AeadProtector({ algorithm, key: key16, iv: salt, engine });
      const fragment = await p.seal(APP, text);
      const nonce = new Uint8Array([...salt, ...seq8(APP.sequence)]);
      const expected = new AesCcm(key16, tag).seal(nonce, text, aad(APP, text.length));
      assert.deepEqual(fragment, new Uint8Array([...seq8(APP.sequence), ...expected]), engine);
      assert.equal(p.maxExpansion, 8 + tag);
      assert.deepEqual(await p.open(APP, fragment), text);
    }
  }
});

Deno.test("AeadProtector: ChaCha20-Poly1305 XORs the sequence into the IV and carries no nonce (RFC 7905 §2), on every engine", async () => {
  for (const engine of ENGINES["chacha20-poly1305"]) {
    const p = new AeadProtector({ algorithm: "chacha20-poly1305", key: key32, iv: iv12, engine });
    const fragment = await p.seal(DTLS, text);
    const nonce = iv12.slice();
    const s = seq8(DTLS.sequence);
    for (let i = 0; i < 8; i++) nonce[4 + i]! ^= s[i]!;
    const expected = chacha20poly1305(key32, nonce, aad(DTLS, text.length)).encrypt(text);
    assert.deepEqual(fragment, expected, engine);
    assert.equal(p.maxExpansion, 16);
    assert.deepEqual(await p.open(DTLS, fragment), text);
  }
});

Deno.test("AeadProtector: every engine opens what every other sealed, at every record size", async () => {
  const sizes = [
    0,
    1,
    15,
    16,
    17,
    1400,
    WEBCRYPTO_GCM_THRESHOLD - 1,
    WEBCRYPTO_GCM_THRESHOLD,
    16384,
  ];
  for (const [algorithm, key, iv] of ALGORITHMS) {
    const engines = ENGINES[algorithm];
    for (const size of sizes) {
      const data = crypto.getRandomValues(new Uint8Array(size));
      const sealedBy = await Promise.all(
        engines.map((engine) => new AeadProtector({ algorithm, key, iv, engine }).seal(APP, data)),
      );
      for (const sealed of sealedBy) assert.deepEqual(sealed, sealedBy[0], `${algorithm} ${size}`);
      for (const engine of engines) {
        const opened = await new AeadProtector({ algorithm, key, iv, engine }).open(
          APP,
          sealedBy[0]!,
        );
        assert.deepEqual(opened, data, `${algorithm} ${engine} ${size}`);
      }
    }
  }
});

Deno.test("AeadProtector: an engine of one's own runs under the layout, with no key given", async () => {
  const inner = createAeadEngine("aes-gcm", key16, "noble");
  const seen: number[] = [];
  const engine: AeadEngine = {
    // Asynchronous, as a secure element's would be.
    seal: async (nonce, plaintext, additional) => {
      seen.push(nonce.length, additional.length);
      return await inner.seal(nonce, plaintext, additional);
    },
    open: async (nonce, sealed, additional) => await inner.open(nonce, sealed, additional),
  };
  const p = new AeadProtector({ algorithm: "aes-gcm", iv: salt, engine });
  const fragment = await p.seal(APP, text);
  assert.deepEqual(seen, [12, 13]);
  const reference = new AeadProtector({ algorithm: "aes-gcm", key: key16, iv: salt });
  assert.deepEqual(fragment, await reference.seal(APP, text));
  assert.deepEqual(await p.open(APP, fragment), text);
  const bad = fragment.slice();
  bad[10]! ^= 1;
  await assert.rejects(
    async () => await p.open(APP, bad),
    (e) => e instanceof TlsAlertError && e.description === AlertDescription.bad_record_mac,
  );
  assert.throws(
    () => new AeadProtector({ algorithm: "aes-gcm", key: key16, iv: salt, engine }),
    TypeError,
  );
  assert.throws(() => new AeadProtector({ algorithm: "aes-gcm", iv: salt }), TypeError);
  assert.throws(() => createAeadEngine("aes-ccm", key16, "webcrypto"), RangeError);
});

const ALGORITHMS: [AeadAlgorithm, Uint8Array, Uint8Array][] = [
  ["aes-gcm", key32, salt],
  ["aes-ccm", key16, salt],
  ["aes-ccm-8", key16, salt],
  ["chacha20-poly1305", key32, iv12],
];

Deno.test("AeadProtector: a changed byte, type, version or sequence number is bad_record_mac, on every engine", async () => {
  const isBadMac = (e: unknown) =>
    e instanceof TlsAlertError && e.description === AlertDescription.bad_record_mac;
  for (const [algorithm, key, iv] of ALGORITHMS) {
    for (const engine of ENGINES[algorithm]) {
      // Large enough for `auto` to take WebCrypto's path for AES-GCM, with a short one too.
      for (const data of [text, new Uint8Array(WEBCRYPTO_GCM_THRESHOLD + 3)]) {
        const p = new AeadProtector({ algorithm, key, iv, engine });
        const fragment = await p.seal(APP, data);
        const positions = data === text
          ? fragment.keys()
          : [0, 7, 8, 100, fragment.length - 17, fragment.length - 1];
        for (const at of positions) {
          const bad = fragment.slice();
          bad[at]! ^= 0x01;
          await assert.rejects(
            async () => await p.open(APP, bad),
            isBadMac,
            `${algorithm} ${engine} byte ${at}`,
          );
        }
        for (
          const other of [{ ...APP, type: 22 }, { ...APP, version: 0x0302 }, {
            ...APP,
            sequence: 1n,
          }]
        ) {
          await assert.rejects(async () => await p.open(other, fragment), isBadMac, algorithm);
        }
        await assert.rejects(
          async () => await p.open(APP, fragment.subarray(0, p.maxExpansion - 1)),
          isBadMac,
        );
        assert.deepEqual(
          await p.open(APP, await p.seal(APP, new Uint8Array(0))),
          new Uint8Array(0),
        );
      }
    }
  }
});

Deno.test("AeadProtector: nonces follow the sequence number, so two records never share one", async () => {
  const p = new AeadProtector({ algorithm: "aes-gcm", key: key16, iv: salt });
  const a = await p.seal({ ...APP, sequence: 7n }, text);
  const b = await p.seal({ ...APP, sequence: 8n }, text);
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
