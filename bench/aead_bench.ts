// deno-lint-ignore-file no-console
/**
 * AEAD record protection speed (issue 16): `AeadProtector` on each built-in engine (`auto`,
 * `node`, `noble`, `webcrypto`) next to node:crypto doing the same record work written directly
 * (nonce from salt ‖ sequence or IV ⊕ sequence, RFC 5246's additional data, explicit nonce
 * framing, tag check), for AES-128-GCM, ChaCha20-Poly1305 and AES-128-CCM_8, sealing and
 * opening, at 64, 256, 1400 and 16384 bytes. Every group's baseline is the node:crypto row. At
 * start it runs `openssl speed -evp aes-128-gcm -bytes 16384` once and prints OpenSSL's rate,
 * so the 16 KiB GCM rows can be compared with native OpenSSL from the same run.
 *
 * Run: `deno bench -A bench/aead_bench.ts` (figures in bench/README.md).
 *
 * @module
 */

import {
  type CipherChaCha20Poly1305,
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
} from "node:crypto";
import {
  type AeadAlgorithm,
  type AeadEngineChoice,
  AeadProtector,
  type RecordContext,
} from "@anchortls/record";

const sizes = [64, 256, 1400, 16384];
const context: RecordContext = { type: 23, version: 0x0303, sequence: 42n };
const key16 = crypto.getRandomValues(new Uint8Array(16));
const key32 = crypto.getRandomValues(new Uint8Array(32));
const salt = crypto.getRandomValues(new Uint8Array(4));
const iv12 = crypto.getRandomValues(new Uint8Array(12));

/** OpenSSL's own AES-128-GCM rate on 16 KiB blocks, from this run, for the 16 KiB rows. */
async function opensslGcmRate(): Promise<string> {
  try {
    const out = await new Deno.Command("openssl", {
      args: ["speed", "-evp", "aes-128-gcm", "-bytes", "16384", "-seconds", "2"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const line = new TextDecoder().decode(out.stdout).split("\n").find((l) =>
      /^AES-128-GCM\s/i.test(l)
    );
    const kbps = Number(line?.trim().split(/\s+/).at(-1)?.replace(/k$/, ""));
    if (!Number.isFinite(kbps)) return "openssl speed gave no rate";
    const usPerRecord = 16384 / (kbps * 1000) * 1e6;
    return `${(kbps / 1000).toFixed(0)} MB/s = ${usPerRecord.toFixed(1)} µs per 16 KiB record`;
  } catch {
    return "openssl is not installed";
  }
}
console.log(`openssl speed -evp aes-128-gcm -bytes 16384: ${await opensslGcmRate()}`);

function additionalData(length: number): Uint8Array {
  const aad = new Uint8Array(13);
  const view = new DataView(aad.buffer);
  view.setBigUint64(0, context.sequence);
  aad[8] = context.type;
  view.setUint16(9, context.version);
  view.setUint16(11, length);
  return aad;
}

/** The record work written straight against node:crypto: what the protector must not lose to. */
function nodeRecord(algorithm: "aes-gcm" | "chacha20-poly1305") {
  const explicit = algorithm === "aes-gcm" ? 8 : 0;
  const nonce = (): Uint8Array => {
    if (explicit) {
      const n = new Uint8Array(12);
      n.set(salt);
      new DataView(n.buffer).setBigUint64(4, context.sequence);
      return n;
    }
    const n = iv12.slice();
    const view = new DataView(n.buffer);
    view.setBigUint64(4, view.getBigUint64(4) ^ context.sequence);
    return n;
  };
  const options = { authTagLength: 16 };
  const encryptor = (n: Uint8Array): CipherGCM | CipherChaCha20Poly1305 =>
    algorithm === "aes-gcm"
      ? createCipheriv("aes-128-gcm", key16, n, options)
      : createCipheriv("chacha20-poly1305", key32, n, options);
  const decryptor = (n: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305 =>
    algorithm === "aes-gcm"
      ? createDecipheriv("aes-128-gcm", key16, n, options)
      : createDecipheriv("chacha20-poly1305", key32, n, options);
  return {
    seal(plaintext: Uint8Array): Uint8Array {
      const n = nonce();
      const cipher = encryptor(n);
      cipher.setAAD(additionalData(plaintext.length), { plaintextLength: plaintext.length });
      const body = cipher.update(plaintext);
      cipher.final();
      const out = new Uint8Array(explicit + body.length + 16);
      out.set(n.subarray(4, 4 + explicit));
      out.set(body, explicit);
      out.set(cipher.getAuthTag(), explicit + body.length);
      return out;
    },
    open(fragment: Uint8Array): Uint8Array {
      const n = nonce();
      const length = fragment.length - explicit - 16;
      const decipher = decryptor(n);
      decipher.setAAD(additionalData(length), { plaintextLength: length });
      decipher.setAuthTag(fragment.subarray(fragment.length - 16));
      const body = decipher.update(fragment.subarray(explicit, fragment.length - 16));
      decipher.final();
      return new Uint8Array(body);
    },
  };
}

const ROWS: readonly {
  algorithm: AeadAlgorithm;
  label: string;
  engines: readonly AeadEngineChoice[];
}[] = [
  { algorithm: "aes-gcm", label: "AES-128-GCM", engines: ["auto", "node", "noble", "webcrypto"] },
  {
    algorithm: "chacha20-poly1305",
    label: "ChaCha20-Poly1305",
    engines: ["auto", "node", "noble"],
  },
  { algorithm: "aes-ccm-8", label: "AES-128-CCM_8", engines: ["auto", "node", "noble"] },
];

for (const { algorithm, label, engines } of ROWS) {
  const key = algorithm === "chacha20-poly1305" ? key32 : key16;
  const iv = algorithm === "chacha20-poly1305" ? iv12 : salt;
  const reference = algorithm === "aes-gcm" || algorithm === "chacha20-poly1305"
    ? nodeRecord(algorithm)
    : undefined;
  for (const n of sizes) {
    const data = crypto.getRandomValues(new Uint8Array(n));
    const fragment = await new AeadProtector({ algorithm, key, iv }).seal(context, data);
    for (const op of ["seal", "open"] as const) {
      const group = `${label} ${n} B ${op}`;
      if (reference) {
        Deno.bench({ name: `${group} node:crypto direct`, group, baseline: true }, () => {
          if (op === "seal") reference.seal(data);
          else reference.open(fragment);
        });
      }
      for (const engine of engines) {
        const protector = new AeadProtector({ algorithm, key, iv, engine });
        Deno.bench({
          name: `${group} ours ${engine}`,
          group,
          baseline: !reference && engine === "noble",
        }, async () => {
          if (op === "seal") await protector.seal(context, data);
          else await protector.open(context, fragment);
        });
      }
    }
  }
}
