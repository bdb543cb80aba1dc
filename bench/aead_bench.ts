/**
 * AEAD record protection speed (issue 16): AeadProtector with each engine — AES-GCM and
 * ChaCha20-Poly1305 from @noble/ciphers, AES-CCM / CCM_8 on @noble's AES modes — next to
 * WebCrypto's native AES-GCM doing the same record work (nonce, AAD, seal), and our
 * AES-128-CBC-SHA256 Encrypt-then-MAC protector as the baseline, per record size.
 *
 * Run: `deno bench -A bench/aead_bench.ts`. Each group prints ratios against the CBC row.
 *
 * @module
 */

import {
  AeadProtector,
  CbcHmacProtector,
  CipherSuites,
  type RecordContext,
} from "@anchortls/record";

const sizes = [64, 1400, 16384];
const context: RecordContext = { type: 23, version: 0x0303, sequence: 42n };
const key16 = crypto.getRandomValues(new Uint8Array(16));
const key32 = crypto.getRandomValues(new Uint8Array(32));
const salt = crypto.getRandomValues(new Uint8Array(4));
const iv12 = crypto.getRandomValues(new Uint8Array(12));

const protectors = {
  "AES-128-GCM (noble)": new AeadProtector({ algorithm: "aes-gcm", key: key16, iv: salt }),
  "AES-128-CCM (noble AES)": new AeadProtector({ algorithm: "aes-ccm", key: key16, iv: salt }),
  "AES-128-CCM_8 (noble AES)": new AeadProtector({ algorithm: "aes-ccm-8", key: key16, iv: salt }),
  "ChaCha20-Poly1305 (noble)": new AeadProtector({
    algorithm: "chacha20-poly1305",
    key: key32,
    iv: iv12,
  }),
};
const cbc = new CbcHmacProtector({
  suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
  encKey: key16,
  macKey: key32,
  encryptThenMac: true,
});
const webKey = await crypto.subtle.importKey("raw", key16, "AES-GCM", false, ["encrypt"]);

for (const n of sizes) {
  const data = crypto.getRandomValues(new Uint8Array(n));
  const group = `${n} B seal`;
  Deno.bench({ name: "AES-128-CBC-SHA256 EtM (ours)", group, baseline: true }, () => {
    cbc.seal(context, data);
  });
  for (const [name, protector] of Object.entries(protectors)) {
    Deno.bench({ name, group }, () => {
      protector.seal(context, data);
    });
  }
  Deno.bench({ name: "AES-128-GCM (WebCrypto)", group }, async () => {
    const nonce = new Uint8Array(12);
    nonce.set(salt);
    new DataView(nonce.buffer).setBigUint64(4, context.sequence);
    const aad = new Uint8Array(13);
    const view = new DataView(aad.buffer);
    view.setBigUint64(0, context.sequence);
    aad[8] = context.type;
    view.setUint16(9, context.version);
    view.setUint16(11, n);
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, webKey, data);
  });
}
