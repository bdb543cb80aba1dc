import assert from "node:assert/strict";
import { createCipheriv, createHmac } from "node:crypto";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import { CbcHmacProtector, type CbcHmacProtectorOptions } from "./cbc_hmac.ts";
import { type CbcCipherSuite, CipherSuites } from "./cipher_suite.ts";
import { AUTO_NODE_THRESHOLD, type CbcHmacEngineChoice } from "./cbc_hmac_engine.ts";
import type { RecordContext, RecordProtector } from "./protector.ts";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";

const suites = Object.values(CipherSuites).filter((s): s is CbcCipherSuite => s.kind === "cbc");

/** Every built-in engine runs every test below under the one layout. */
const ENGINES: readonly CbcHmacEngineChoice[] = ["noble", "node", "webcrypto", "auto"];
const implementations: {
  name: string;
  create: (options: CbcHmacProtectorOptions) => Promise<RecordProtector>;
}[] = ENGINES.map((engine) => ({
  name: `CbcHmacProtector on ${engine}`,
  create: (options) => Promise.resolve(new CbcHmacProtector({ ...options, engine })),
}));

/** The value of a synchronous engine's call (`auto` and `noble` are synchronous). */
function sync(value: Uint8Array | Promise<Uint8Array>): Uint8Array {
  assert.ok(value instanceof Uint8Array, "a synchronous engine answers synchronously");
  return value;
}
const modes = [false, true];

/** Deterministic bytes so every failure can be reproduced. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function macHeader(context: RecordContext, length: number): Uint8Array {
  const h = new Uint8Array(13);
  const v = new DataView(h.buffer);
  v.setBigUint64(0, context.sequence);
  v.setUint8(8, context.type);
  v.setUint16(9, context.version);
  v.setUint16(11, length);
  return h;
}

interface Keys {
  suite: CbcCipherSuite;
  encryptThenMac: boolean;
  encKey: Uint8Array;
  macKey: Uint8Array;
}

function keysFor(suite: CbcCipherSuite, encryptThenMac: boolean, seed = 1): Keys {
  return {
    suite,
    encryptThenMac,
    encKey: bytes(suite.encKeyLength, seed),
    macKey: bytes(suite.macKeyLength, seed + 100),
  };
}

/**
 * The same record built by an independent implementation (OpenSSL via node:crypto), from the
 * same key, IV and sequence number, with a chosen padding length.
 */
function referenceRecord(
  keys: Keys,
  iv: Uint8Array,
  context: RecordContext,
  plaintext: Uint8Array,
  padLength?: number,
): Uint8Array {
  const { suite } = keys;
  const algorithm = `aes-${suite.encKeyLength * 8}-cbc`;
  const hmac = (data: Uint8Array) =>
    new Uint8Array(createHmac(suite.macAlgorithm, keys.macKey).update(data).digest());
  const encrypt = (data: Uint8Array) => {
    const c = createCipheriv(algorithm, keys.encKey, iv).setAutoPadding(false);
    return concat(new Uint8Array(c.update(data)), new Uint8Array(c.final()));
  };
  const minimalPad = (n: number) => (16 - ((n + 1) % 16)) % 16;
  if (keys.encryptThenMac) {
    const pad = padLength ?? minimalPad(plaintext.length);
    const ct = encrypt(concat(plaintext, new Uint8Array(pad + 1).fill(pad)));
    const mac = hmac(concat(macHeader(context, 16 + ct.length), iv, ct));
    return concat(iv, ct, mac);
  }
  const mac = hmac(concat(macHeader(context, plaintext.length), plaintext));
  const pad = padLength ?? minimalPad(plaintext.length + mac.length);
  return concat(iv, encrypt(concat(plaintext, mac, new Uint8Array(pad + 1).fill(pad))));
}

const tls: RecordContext = { type: 23, version: 0x0303, sequence: 0x0102030405060708n };
const dtls: RecordContext = {
  type: 22,
  version: 0xfefd,
  sequence: (3n << 48n) | 0x0000abcdef01n,
};
const sizes = [0, 1, 2, 11, 12, 15, 16, 17, 31, 32, 33, 63, 64, 100, 255, 256, 1000, 1400, 16384];

async function expectBadRecordMac(fn: () => unknown, what: string): Promise<void> {
  await assert.rejects(async () => await fn(), (e: unknown) => {
    assert.ok(e instanceof TlsAlertError, `${what}: not a TlsAlertError: ${e}`);
    assert.equal(e.description, AlertDescription.bad_record_mac, what);
    assert.equal(e.message, "local bad_record_mac: record failed authentication", what);
    return true;
  }, what);
}

for (const { name, create } of implementations) {
  Deno.test(`${name}: seal is byte-exact with node:crypto for every suite, mode, TLS and DTLS`, async () => {
    for (const suite of suites) {
      for (const etm of modes) {
        for (const context of [tls, dtls]) {
          for (const size of sizes) {
            const keys = keysFor(suite, etm, size);
            const iv = bytes(16, size + 7);
            const plaintext = bytes(size, size + 3);
            const p = await create({ ...keys, random: () => iv });
            const sealed = await p.seal(context, plaintext);
            const expected = referenceRecord(keys, iv, context, plaintext);
            assert.deepEqual(
              sealed,
              expected,
              `${suite.name} etm=${etm} ${context.version} ${size}`,
            );
          }
        }
      }
    }
  });

  Deno.test(`${name}: open accepts node:crypto records with every padding length 0..255`, async () => {
    for (const suite of suites) {
      for (const etm of modes) {
        const keys = keysFor(suite, etm);
        const p = await create(keys);
        for (let pad = 0; pad <= 255; pad++) {
          for (const context of [tls, dtls]) {
            // Choose a content length that makes the padded body a whole number of blocks.
            const overhead = (etm ? 0 : suite.macLength) + pad + 1;
            const size = 37 + (16 - ((37 + overhead) % 16)) % 16;
            const plaintext = bytes(size, pad);
            const record = referenceRecord(keys, bytes(16, pad), context, plaintext, pad);
            assert.deepEqual(
              await p.open(context, record),
              plaintext,
              `${suite.name} ${etm} pad ${pad}`,
            );
          }
        }
      }
    }
  });

  Deno.test(`${name}: round trips over sampled sizes 0..2^14 with the default random IVs`, async () => {
    for (const suite of suites) {
      for (const etm of modes) {
        const keys = keysFor(suite, etm);
        const sender = await create(keys);
        const receiver = await create(keys);
        const ivs = new Set<string>();
        for (let size = 0; size <= 16384; size += size < 300 ? 1 : 997) {
          const context = { ...tls, sequence: BigInt(size) };
          const plaintext = bytes(size, size);
          const sealed = await sender.seal(context, plaintext);
          ivs.add(sealed.subarray(0, 16).toHex());
          assert.deepEqual(
            await receiver.open(context, sealed),
            plaintext,
            `${suite.name} ${size}`,
          );
        }
        const last = new Uint8Array(16384).fill(0x5a);
        assert.deepEqual(await receiver.open(tls, await sender.seal(tls, last)), last);
        assert.equal(ivs.size, 300 + Math.ceil((16384 - 300) / 997), "IVs must never repeat");
      }
    }
  });

  Deno.test(`${name}: NIST SP 800-38A F.2.1/F.2.2 and F.2.5/F.2.6 AES-CBC through the protector`, async () => {
    // F.2.3/F.2.4 are AES-192, which no supported suite uses.
    const iv = Uint8Array.fromHex("000102030405060708090a0b0c0d0e0f");
    const plaintext = Uint8Array.fromHex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
    );
    const vectors = [
      {
        suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA,
        key: "2b7e151628aed2a6abf7158809cf4f3c",
        ciphertext: "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2" +
          "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
      },
      {
        suite: CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256,
        key: "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        ciphertext: "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d" +
          "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b",
      },
    ];
    for (const { suite, key, ciphertext } of vectors) {
      const keys = { ...keysFor(suite, true), encKey: Uint8Array.fromHex(key) };
      const p = await create({ ...keys, random: () => iv });
      // Encrypt (F.2.1, F.2.5): with Encrypt-then-MAC the record is IV ‖ CBC(plaintext ‖ one
      // padding block) ‖ MAC, so its first four cipher blocks are the NIST ciphertext.
      const sealed = await p.seal(tls, plaintext);
      assert.equal(sealed.subarray(0, 16).toHex(), iv.toHex());
      assert.equal(sealed.subarray(16, 80).toHex(), ciphertext);
      // Decrypt (F.2.2, F.2.6): a record whose cipher blocks are the NIST ciphertext (plus the
      // padding block and MAC computed by node:crypto) opens to the NIST plaintext.
      const reference = referenceRecord(keys, iv, tls, plaintext, 15);
      assert.equal(reference.subarray(16, 80).toHex(), ciphertext);
      assert.deepEqual(await p.open(tls, reference), plaintext);
    }
  });

  Deno.test(`${name}: flipping any single bit of a record is rejected with bad_record_mac`, async () => {
    for (const suite of suites) {
      for (const etm of modes) {
        const keys = keysFor(suite, etm);
        const p = await create(keys);
        // 13 bytes of content: the record has content, MAC and several padding bytes.
        const sealed = await p.seal(dtls, bytes(13, 1));
        const header = macHeader(dtls, sealed.length);
        for (let bit = 0; bit < sealed.length * 8; bit++) {
          const tampered = sealed.slice();
          tampered[bit >>> 3]! ^= 1 << (bit & 7);
          await expectBadRecordMac(() => p.open(dtls, tampered), `${suite.name} ${etm} bit ${bit}`);
        }
        // The header's bits reach the MAC through the context: type, version, epoch, sequence.
        for (let bit = 0; bit < 11 * 8; bit++) {
          const h = header.slice();
          h[bit >>> 3]! ^= 1 << (bit & 7);
          const v = new DataView(h.buffer);
          const context = { sequence: v.getBigUint64(0), type: h[8]!, version: v.getUint16(9) };
          await expectBadRecordMac(
            () => p.open(context, sealed),
            `${suite.name} ${etm} header ${bit}`,
          );
        }
        assert.deepEqual(await p.open(dtls, sealed), bytes(13, 1));
      }
    }
  });

  Deno.test(`${name}: truncation, extension, wrong sequence and wrong epoch are rejected`, async () => {
    for (const suite of suites) {
      for (const etm of modes) {
        const p = await create(keysFor(suite, etm));
        const sealed = await p.seal(dtls, bytes(100, 2));
        for (let n = 0; n < sealed.length; n++) {
          await expectBadRecordMac(() => p.open(dtls, sealed.subarray(0, n)), `truncated to ${n}`);
        }
        for (const extra of [1, 16, 32]) {
          await expectBadRecordMac(
            () => p.open(dtls, concat(sealed, new Uint8Array(extra))),
            `extended by ${extra}`,
          );
        }
        await expectBadRecordMac(
          () => p.open({ ...dtls, sequence: dtls.sequence + 1n }, sealed),
          "seq",
        );
        await expectBadRecordMac(
          () => p.open({ ...dtls, sequence: dtls.sequence + (1n << 48n) }, sealed),
          "epoch",
        );
        const other = await create(keysFor(suite, etm, 9));
        await expectBadRecordMac(() => other.open(dtls, sealed), "other keys");
        const otherMode = await create(keysFor(suite, !etm));
        await expectBadRecordMac(() => otherMode.open(dtls, sealed), "other mode");
      }
    }
  });

  Deno.test(`${name}: MAC-then-encrypt: bad padding and bad MAC fail the same way`, async () => {
    for (const suite of suites) {
      const keys = keysFor(suite, false);
      const p = await create(keys);
      const iv = bytes(16, 5);
      const plaintext = bytes(24, 5);
      const cases: [string, Uint8Array][] = [];
      // Padding bytes that disagree with padding_length, built with a valid MAC underneath.
      const padLength = (16 - ((24 + suite.macLength + 1) % 16)) % 16 + 16;
      const good = referenceRecord(keys, iv, tls, plaintext, padLength);
      assert.deepEqual(await p.open(tls, good), plaintext);
      // A fresh cipher per case: node's update() keeps chaining across calls.
      const cipher = () =>
        createCipheriv(`aes-${suite.encKeyLength * 8}-cbc`, keys.encKey, iv).setAutoPadding(false);
      const mac = new Uint8Array(
        createHmac(suite.macAlgorithm, keys.macKey).update(
          concat(macHeader(tls, plaintext.length), plaintext),
        ).digest(),
      );
      for (let at = 0; at < padLength; at++) {
        const padding = new Uint8Array(padLength + 1).fill(padLength);
        padding[at] = padLength ^ 0x01;
        const body = concat(plaintext, mac, padding);
        cases.push([`bad padding byte ${at}`, concat(iv, new Uint8Array(cipher().update(body)))]);
      }
      const tooLong = referenceRecord(keys, iv, tls, new Uint8Array(0), 255 - suite.macLength);
      cases.push(["padding longer than record", tooLong.subarray(0, 16 + 64)]);
      for (const [what, record] of cases) await expectBadRecordMac(() => p.open(tls, record), what);
    }
  });
}

Deno.test("keys never appear in toString, JSON or console output", () => {
  const keys = keysFor(CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA, true);
  keys.encKey.fill(0xab);
  keys.macKey.fill(0xcd);
  const p = new CbcHmacProtector(keys);
  for (const text of [String(p), JSON.stringify(p), Deno.inspect(p, { depth: 10 })]) {
    assert.match(text, /TLS_RSA_WITH_AES_128_CBC_SHA/);
    assert.doesNotMatch(text, /ab|171|cd|205/i);
  }
});

Deno.test("wrong key lengths and oversize plaintext are refused", () => {
  const suite = CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA;
  assert.throws(
    () => new CbcHmacProtector({ ...keysFor(suite, true), encKey: new Uint8Array(16) }),
    RangeError,
  );
  assert.throws(
    () => new CbcHmacProtector({ ...keysFor(suite, true), macKey: new Uint8Array(32) }),
    RangeError,
  );
  const p = new CbcHmacProtector(keysFor(suite, true));
  assert.throws(() => p.seal(tls, new Uint8Array(16385)), RangeError);
});

Deno.test("destroy wipes the keys so later records no longer authenticate", () => {
  const keys = keysFor(CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256, false);
  const p = new CbcHmacProtector(keys);
  const sealed = sync(p.seal(tls, bytes(10, 1)));
  p.destroy();
  assert.throws(() => p.open(tls, sealed));
});

Deno.test("CbcHmacProtector engines: the same records from each, auto synchronous and split at its threshold", async () => {
  for (const suite of suites) {
    for (const etm of modes) {
      const keys = keysFor(suite, etm);
      for (const size of [0, AUTO_NODE_THRESHOLD - 100, AUTO_NODE_THRESHOLD, 5000, 16384]) {
        const iv = bytes(16, size);
        const plaintext = bytes(size, size);
        const sealed = await Promise.all(
          ENGINES.map((engine) =>
            new CbcHmacProtector({ ...keys, engine, random: () => iv }).seal(tls, plaintext)
          ),
        );
        for (const record of sealed) assert.deepEqual(record, sealed[0], `${suite.name} ${size}`);
        const auto = new CbcHmacProtector(keys);
        assert.deepEqual(sync(auto.open(tls, sealed[0]!)), plaintext);
        const web = new CbcHmacProtector({ ...keys, engine: "webcrypto" });
        assert.ok(web.open(tls, sealed[0]!) instanceof Promise, "WebCrypto answers with promises");
      }
    }
  }
});

Deno.test("CbcHmacProtector on every engine prints no keys and refuses bad key lengths", () => {
  const keys = keysFor(CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256, false);
  keys.encKey.fill(0xab);
  keys.macKey.fill(0xcd);
  for (const engine of ENGINES) {
    const p = new CbcHmacProtector({ ...keys, engine });
    for (const text of [String(p), JSON.stringify(p), Deno.inspect(p, { depth: 10 })]) {
      assert.match(text, /TLS_RSA_WITH_AES_256_CBC_SHA256/);
      assert.doesNotMatch(text, /ab|171|cd|205/i);
    }
    assert.throws(
      () => new CbcHmacProtector({ ...keys, engine, macKey: new Uint8Array(20) }),
      RangeError,
    );
    assert.throws(() => p.seal(tls, new Uint8Array(16385)), RangeError);
  }
  assert.throws(
    () => new CbcHmacProtector({ suite: keys.suite, encryptThenMac: false }),
    TypeError,
  );
});

/**
 * Counts SHA compression-function calls by wrapping noble's `process` for the duration of
 * `fn`. This is the quantity Lucky 13 measures, counted instead of timed.
 */
const hashes = { sha1, sha256, sha384 };

function countCompressions(algorithm: keyof typeof hashes, fn: () => void): number {
  let calls = 0;
  const restore = countingCompressions(algorithm, () => calls++);
  try {
    fn();
  } finally {
    restore();
  }
  return calls;
}

/** Wraps noble's `process` until the returned function restores it. */
function countingCompressions(algorithm: keyof typeof hashes, count: () => void): () => void {
  const sample = hashes[algorithm].create();
  let proto = Object.getPrototypeOf(sample);
  while (!Object.hasOwn(proto, "process")) proto = Object.getPrototypeOf(proto);
  const original = proto.process;
  proto.process = function (this: unknown, ...args: unknown[]) {
    count();
    return original.apply(this, args);
  };
  return () => {
    proto.process = original;
  };
}

/** {@linkcode countCompressions} across an asynchronous open. */
async function countCompressionsAsync(
  algorithm: keyof typeof hashes,
  fn: () => Promise<unknown>,
): Promise<number> {
  let calls = 0;
  const restore = countingCompressions(algorithm, () => calls++);
  try {
    await fn();
  } finally {
    restore();
  }
  return calls;
}

Deno.test("MAC-then-encrypt open makes the same number of SHA compressions for every padding", () => {
  for (const suite of suites) {
    const keys = keysFor(suite, false);
    const p = new CbcHmacProtector(keys);
    const body = 304;
    const counts = new Set<number>();
    for (let pad = 0; pad <= 255; pad++) {
      const content = body - suite.macLength - 1 - pad;
      const record = referenceRecord(keys, bytes(16, pad), tls, bytes(content, pad), pad);
      assert.equal(record.length, 16 + body);
      counts.add(countCompressions(suite.macAlgorithm, () => p.open(tls, record)));
      const tampered = record.slice();
      tampered[20]! ^= 1;
      counts.add(countCompressions(suite.macAlgorithm, () => {
        assert.throws(() => p.open(tls, tampered), TlsAlertError);
      }));
    }
    // Bad padding bytes (the last block decrypts to garbage) cost the same too.
    const garbage = referenceRecord(
      keys,
      bytes(16, 1),
      tls,
      bytes(body - suite.macLength - 1, 1),
      0,
    );
    garbage[garbage.length - 17]! ^= 0x5a;
    counts.add(countCompressions(suite.macAlgorithm, () => {
      assert.throws(() => p.open(tls, garbage), TlsAlertError);
    }));
    assert.equal(counts.size, 1, `${suite.name}: compression counts ${[...counts]}`);
  }
});

/** Compression-function calls SHA-1 and SHA-256 make for a message of `n` bytes. */
function hashBlocks(n: number): number {
  return Math.ceil((n + 9) / 64);
}

/**
 * Records the length of every message WebCrypto is asked to HMAC during `fn` (the real
 * `sign` still runs) and turns them into the compressions its native hash makes.
 */
async function countWebCryptoCompressions(fn: () => Promise<unknown>): Promise<string> {
  const original = crypto.subtle.sign;
  const lengths: number[] = [];
  crypto.subtle.sign = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto["sign"]>) {
    const data = args[2];
    lengths.push(data.byteLength);
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    crypto.subtle.sign = original;
  }
  return `${lengths.length} calls, ${lengths.reduce((n, l) => n + hashBlocks(l), 0)} blocks`;
}

Deno.test("WebCrypto engine: MAC-then-encrypt open never uses WebCrypto HMAC, at any size; the JavaScript check is constant-cost", async () => {
  for (const suite of suites) {
    const keys = keysFor(suite, false);
    const p = new CbcHmacProtector({ ...keys, engine: "webcrypto" });
    for (const body of [304, 16400]) {
      const counts = new Set<string>();
      const compressions = new Set<number>();
      for (let pad = 0; pad <= 255; pad += body > 1000 ? 15 : 5) {
        const content = body - suite.macLength - 1 - pad;
        const record = referenceRecord(keys, bytes(16, pad), tls, bytes(content, pad), pad);
        assert.equal(record.length, 16 + body);
        counts.add(
          await countWebCryptoCompressions(async () => {
            compressions.add(
              await countCompressionsAsync(suite.macAlgorithm, async () => {
                assert.equal((await p.open(tls, record)).length, content);
              }),
            );
          }),
        );
        const tampered = record.slice();
        tampered[20]! ^= 1;
        compressions.add(
          await countCompressionsAsync(suite.macAlgorithm, async () => {
            await assert.rejects(async () => await p.open(tls, tampered), TlsAlertError);
          }),
        );
      }
      assert.deepEqual([...counts], ["0 calls, 0 blocks"], suite.name);
      assert.equal(compressions.size, 1, `${suite.name}: ${[...compressions]}`);
    }
  }
});

/**
 * Records every call made on noble's SHA-1/SHA-256 objects during `fn`, by wrapping the
 * methods of their prototypes (the real hashing still runs): which object (numbered by first
 * use), which method, the size of each byte argument, and the object's buffering state
 * (`pos`, `length`) on entry (except for `set`, which a clone calls on the scratch object
 * before overwriting that state). Numbers other than `process`'s offset are secret-derived state
 * words, so only their count is kept. Two records whose traces are equal made the hash do the
 * same work in the same calls, which timing can only approximate.
 */
function traceHashCalls(algorithm: keyof typeof hashes, fn: () => void): string[] {
  const sample = hashes[algorithm].create();
  const wrapped: [object, string, unknown][] = [];
  const ids = new Map<object, number>();
  const trace: string[] = [];
  const shape = (arg: unknown) =>
    arg instanceof Uint8Array
      ? `u8[${arg.length}]`
      : arg instanceof DataView
      ? `view[${arg.byteLength}]`
      : typeof arg === "number"
      ? "n"
      : String(arg === undefined ? "none" : typeof arg);
  for (let proto = Object.getPrototypeOf(sample); proto !== Object.prototype;) {
    for (const method of Object.getOwnPropertyNames(proto)) {
      const original = proto[method];
      if (method === "constructor" || typeof original !== "function") continue;
      wrapped.push([proto, method, original]);
      proto[method] = function (this: { pos: number; length: number }, ...args: unknown[]) {
        if (!ids.has(this)) ids.set(this, ids.size);
        const shown = method === "process"
          ? [shape(args[0]), String(args[1])]
          : args.map((a) => args.length > 2 ? "n" : shape(a));
        // `set` is first called on a scratch object before the clone overwrites its state.
        const state = method === "set" ? "" : ` pos=${this.pos} length=${this.length}`;
        trace.push(`#${ids.get(this)}.${method}(${shown})${state}`);
        return original.apply(this, args);
      };
    }
    proto = Object.getPrototypeOf(proto);
  }
  try {
    fn();
  } finally {
    for (const [proto, method, original] of wrapped) {
      (proto as Record<string, unknown>)[method] = original;
    }
  }
  return trace;
}

/** IV ‖ AES-CBC(plain) with no padding added: any plaintext, well-formed or not. */
function encryptRaw(keys: Keys, iv: Uint8Array, plain: Uint8Array): Uint8Array {
  const algorithm = `aes-${keys.suite.encKeyLength * 8}-cbc`;
  const c = createCipheriv(algorithm, keys.encKey, iv).setAutoPadding(false);
  return concat(iv, new Uint8Array(c.update(plain)), new Uint8Array(c.final()));
}

Deno.test("MAC-then-encrypt open makes the same hash calls for every padding, valid or not", () => {
  for (const suite of suites) {
    const keys = keysFor(suite, false);
    const p = new CbcHmacProtector(keys);
    const smallest = 16 * Math.ceil((suite.macLength + 1) / 16);
    for (const body of [smallest, smallest + 16, 304, 512, 1424, 16400]) {
      const traces = new Map<string, string>();
      const open = (what: string, record: Uint8Array, opens: boolean) => {
        const trace = traceHashCalls(suite.macAlgorithm, () => {
          if (opens) p.open(tls, record);
          else assert.throws(() => p.open(tls, record), TlsAlertError, what);
        });
        const key = trace.join("\n");
        if (!traces.has(key)) traces.set(key, what);
      };
      for (let pad = 0; pad <= 255; pad++) {
        const content = body - suite.macLength - 1 - pad;
        if (content >= 0) {
          const record = referenceRecord(keys, bytes(16, pad), tls, bytes(content, pad), pad);
          assert.equal(record.length, 16 + body);
          open(`valid padding ${pad}, right MAC`, record, true);
          // Flips the last MAC byte (and garbles a block before it), leaving the padding intact.
          const tampered = record.slice();
          tampered[body - pad - 2]! ^= 1;
          open(`valid padding ${pad}, wrong MAC`, tampered, false);
        }
        // Last byte pad, the pad bytes before it pad ^ 1 (or too long for the record).
        const plain = bytes(body, pad + 1000);
        plain.fill(pad ^ 1, Math.max(0, body - 1 - pad), body - 1);
        plain[body - 1] = pad;
        if (pad > 0) open(`invalid padding ${pad}`, encryptRaw(keys, bytes(16, pad), plain), false);
      }
      const [first] = traces.values();
      assert.equal(
        traces.size,
        1,
        `${suite.name}, ${body}-byte body: ${traces.size} different call patterns, first from ${first}; others from ${
          [...traces.values()].slice(1, 4).join("; ")
        }`,
      );
      const [trace] = traces.keys();
      assert.match(trace!, /process\(view\[/, "the trace sees the compressions");
    }
  }
});

Deno.test("Encrypt-then-MAC: a valid MAC over malformed padding is bad_record_mac on every protector", async () => {
  for (const suite of suites) {
    const keys = keysFor(suite, true);
    const protectors: [string, RecordProtector][] = ENGINES.map((engine) => [
      engine,
      new CbcHmacProtector({ ...keys, engine }),
    ]);
    for (const [padLength, body] of [[3, 64], [15, 4112], [200, 4112]] as const) {
      // The last byte claims `padLength` bytes of padding, the bytes before it disagree.
      const plain = bytes(body, padLength);
      plain[body - 1] = padLength;
      plain[body - 2] = padLength ^ 0xff;
      const iv = bytes(16, 77);
      const cipher = createCipheriv(`aes-${suite.encKeyLength * 8}-cbc`, keys.encKey, iv)
        .setAutoPadding(false);
      const ciphertext = new Uint8Array([...cipher.update(plain), ...cipher.final()]);
      const encrypted = new Uint8Array([...iv, ...ciphertext]);
      const header = new Uint8Array(13);
      new DataView(header.buffer).setBigUint64(0, tls.sequence);
      header.set([tls.type, 3, 3, encrypted.length >> 8, encrypted.length & 0xff], 8);
      const mac = createHmac(suite.macAlgorithm, keys.macKey).update(header).update(encrypted)
        .digest();
      const record = new Uint8Array([...encrypted, ...mac]);
      for (const [name, p] of protectors) {
        await assert.rejects(
          async () => await p.open(tls, record),
          (e) => e instanceof TlsAlertError && e.description === AlertDescription.bad_record_mac,
          `${suite.name} ${name} padding ${padLength}`,
        );
      }
    }
  }
});
