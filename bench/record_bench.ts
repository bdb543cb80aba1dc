/**
 * Record protection speed: our CbcHmacProtector against node:crypto (OpenSSL's AES-NI
 * AES-CBC and HMAC, reached through Deno's node compatibility layer) doing the same work —
 * build the MAC header, MAC, pad, encrypt with a fresh IV (seal), and the reverse with a MAC
 * check (open) — for each suite × {MAC-then-encrypt, Encrypt-then-MAC} × record size.
 * "ours ENGINE" is CbcHmacProtector (the one record layout) on each built-in engine: `auto`
 * (the default: noble below 1 KiB, node:crypto from there), `noble`, `node`, `webcrypto`.
 *
 * A second kind of group, "64 KiB write = 4 records", pushes one 65536-byte write through a
 * RecordWriter (fragmenting, sealing, record headers) and reads the 4 records out; node:crypto
 * sits behind the same RecordWriter as a RecordProtector, so only the protection differs. The
 * writer seals up to 4 records of a write at once, which lets WebCrypto use both cores.
 *
 * Run: `deno bench -A bench/record_bench.ts`, or one group at a time with `--filter` (in one long
 * process the WebCrypto rows degrade; see bench/README.md). Every group prints ratios.
 *
 * @module
 */

import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import {
  type CbcCipherSuite,
  type CbcHmacEngineChoice,
  CbcHmacProtector,
  CipherSuites,
  type RecordContext,
  type RecordProtector,
  RecordWriter,
} from "@anchortls/record";

/** Every built-in engine under our one layout. */
const ENGINES: readonly CbcHmacEngineChoice[] = ["auto", "noble", "node", "webcrypto"];

const sizes = [64, 256, 1400, 16384];
const context: RecordContext = { type: 23, version: 0x0303, sequence: 42n };

function macHeader(context: RecordContext, length: number): Uint8Array {
  const h = new Uint8Array(13);
  const v = new DataView(h.buffer);
  v.setBigUint64(0, context.sequence);
  v.setUint8(8, context.type);
  v.setUint16(9, context.version);
  v.setUint16(11, length);
  return h;
}

/** The same record protection written directly against node:crypto. */
function nodeProtector(
  suite: CbcCipherSuite,
  etm: boolean,
  encKey: Uint8Array,
  macKey: Uint8Array,
): {
  maxExpansion: number;
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array;
  open(context: RecordContext, fragment: Uint8Array): Uint8Array;
} {
  const algorithm = `aes-${suite.encKeyLength * 8}-cbc`;
  const macLength = suite.macLength;
  return {
    maxExpansion: 16 + macLength + 16,
    seal(context: RecordContext, plaintext: Uint8Array): Uint8Array {
      const iv = randomBytes(16);
      const cipher = createCipheriv(algorithm, encKey, iv).setAutoPadding(false);
      if (etm) {
        const pad = 15 - (plaintext.length % 16);
        const padding = new Uint8Array(pad + 1).fill(pad);
        const ct = Buffer.concat([
          iv,
          cipher.update(plaintext),
          cipher.update(padding),
          cipher.final(),
        ]);
        const mac = createHmac(suite.macAlgorithm, macKey).update(macHeader(context, ct.length))
          .update(ct)
          .digest();
        return Buffer.concat([ct, mac]);
      }
      const mac = createHmac(suite.macAlgorithm, macKey).update(
        macHeader(context, plaintext.length),
      )
        .update(plaintext).digest();
      const pad = 15 - ((plaintext.length + macLength) % 16);
      const padding = new Uint8Array(pad + 1).fill(pad);
      return Buffer.concat([
        iv,
        cipher.update(plaintext),
        cipher.update(mac),
        cipher.update(padding),
        cipher.final(),
      ]);
    },
    open(context: RecordContext, fragment: Uint8Array): Uint8Array {
      const iv = fragment.subarray(0, 16);
      if (etm) {
        const end = fragment.length - macLength;
        const mac = createHmac(suite.macAlgorithm, macKey).update(macHeader(context, end))
          .update(fragment.subarray(0, end)).digest();
        if (!timingSafeEqual(mac, fragment.subarray(end))) throw new Error("bad_record_mac");
        const d = createDecipheriv(algorithm, encKey, iv).setAutoPadding(false);
        const plain = Buffer.concat([d.update(fragment.subarray(16, end)), d.final()]);
        return plain.subarray(0, plain.length - plain[plain.length - 1]! - 1);
      }
      const d = createDecipheriv(algorithm, encKey, iv).setAutoPadding(false);
      const plain = Buffer.concat([d.update(fragment.subarray(16)), d.final()]);
      const length = plain.length - plain[plain.length - 1]! - 1 - macLength;
      const mac = createHmac(suite.macAlgorithm, macKey).update(macHeader(context, length))
        .update(plain.subarray(0, length)).digest();
      if (!timingSafeEqual(mac, plain.subarray(length, length + macLength))) {
        throw new Error("bad_record_mac");
      }
      return plain.subarray(0, length);
    },
  };
}

/**
 * One 64 KiB write through a long-lived RecordWriter, with the 4 records read back out.
 *
 * @returns The bench body.
 */
function writeThrough(protector: RecordProtector): () => Promise<void> {
  const stream = new RecordWriter({ protector });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const data = crypto.getRandomValues(new Uint8Array(65536));
  return async () => {
    const written = writer.write(data);
    for (let i = 0; i < 4; i++) await reader.read();
    await written;
  };
}

// The RSA suites stand for every CBC-HMAC suite: the record layer ignores the key exchange.
for (
  const suite of Object.values(CipherSuites).filter((s): s is CbcCipherSuite =>
    s.kind === "cbc" && s.keyExchange === "rsa"
  )
) {
  const short = suite.name.replace("TLS_RSA_WITH_", "");
  const encKey = crypto.getRandomValues(new Uint8Array(suite.encKeyLength));
  const macKey = crypto.getRandomValues(new Uint8Array(suite.macKeyLength));
  for (const etm of [false, true]) {
    const mode = etm ? "EtM" : "MtE";
    const keys = { suite, encryptThenMac: etm, encKey, macKey };
    const node = nodeProtector(suite, etm, encKey, macKey);
    const write = `${short} ${mode} 64 KiB write = 4 records`;
    for (const engine of ENGINES) {
      Deno.bench({
        name: `${write} ours ${engine}`,
        group: write,
        fn: writeThrough(new CbcHmacProtector({ ...keys, engine })),
      });
    }
    Deno.bench({
      name: `${write} node:crypto`,
      group: write,
      baseline: true,
      fn: writeThrough(nodeProtector(suite, etm, encKey, macKey)),
    });
    for (const size of sizes) {
      const plaintext = crypto.getRandomValues(new Uint8Array(size));
      const reference = new CbcHmacProtector({ ...keys, engine: "noble" });
      const sealed = await reference.seal(context, plaintext);
      if (
        node.open(context, sealed).length !== size ||
        (await reference.open(context, node.seal(context, plaintext))).length !== size
      ) {
        throw new Error(`${short} ${mode}: implementations disagree`);
      }
      const n = `${short} ${mode} ${size}`;
      for (const engine of ENGINES) {
        const ours = new CbcHmacProtector({ ...keys, engine });
        Deno.bench({
          name: `${n} seal ours ${engine}`,
          group: `${n} seal`,
          fn: async () => {
            await ours.seal(context, plaintext);
          },
        });
        Deno.bench({
          name: `${n} open ours ${engine}`,
          group: `${n} open`,
          fn: async () => {
            await ours.open(context, sealed);
          },
        });
      }
      Deno.bench({
        name: `${n} seal node:crypto`,
        group: `${n} seal`,
        baseline: true,
        fn: () => {
          node.seal(context, plaintext);
        },
      });
      Deno.bench({
        name: `${n} open node:crypto`,
        group: `${n} open`,
        baseline: true,
        fn: () => {
          node.open(context, sealed);
        },
      });
    }
  }
}
