import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import { CbcHmacProtector } from "./cbc_hmac.ts";
import { type CbcCipherSuite, CipherSuites } from "./cipher_suite.ts";
import { ContentType } from "./content_type.ts";
import { NullProtector, type RecordContext, type RecordProtector } from "./protector.ts";
import { decodeDtlsRecord, decodeTlsRecord, encodeTlsRecord, recordLimits } from "./header.ts";
import {
  DatagramRecordReader,
  DatagramRecordWriter,
  RecordReader,
  RecordWriter,
  type RecordWriterInput,
} from "./streams.ts";
import type { InboundRecord } from "./connection_state.ts";

function keys(suite: CbcCipherSuite, encryptThenMac: boolean, seed = 1) {
  return {
    suite,
    encryptThenMac,
    encKey: new Uint8Array(suite.encKeyLength).fill(seed),
    macKey: new Uint8Array(suite.macKeyLength).fill(seed + 1),
  };
}

async function write(
  writer: TransformStream<RecordWriterInput, Uint8Array>,
  inputs: RecordWriterInput[],
): Promise<Uint8Array[]> {
  const [out] = await Promise.all([
    Array.fromAsync(writer.readable),
    ReadableStream.from(inputs).pipeTo(writer.writable),
  ]);
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(chunks.flatMap((c) => [...c]));
}

async function read(chunks: Uint8Array[], reader: RecordReader): Promise<InboundRecord[]> {
  return await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(reader));
}

async function expectStreamAlert(p: Promise<unknown>, description: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TlsAlertError, String(e));
    assert.equal(e.description, description, e.message);
    return true;
  });
}

const messages = [
  new Uint8Array(5).fill(0x41),
  new Uint8Array(40).fill(0x42),
  new Uint8Array(100).map((_, i) => i),
];

Deno.test("RecordWriter fragments at the limit and skips empty writes", async () => {
  const out = await write(new RecordWriter(), [
    new Uint8Array(20000),
    new Uint8Array(0),
    { type: ContentType.handshake, data: new Uint8Array(3) },
  ]);
  const records = out.map((b) => decodeTlsRecord(b));
  assert.deepEqual(records.map((r) => [r.type, r.fragment.length]), [[23, 16384], [23, 3616], [
    22,
    3,
  ]]);
  const small = await write(new RecordWriter({ limits: recordLimits(64) }), [new Uint8Array(130)]);
  assert.deepEqual(small.map((b) => decodeTlsRecord(b).fragment.length), [64, 64, 2]);
});

Deno.test("writer → reader with every suite and mode, the byte stream split at every offset", async () => {
  for (
    const suite of Object.values(CipherSuites).filter((s): s is CbcCipherSuite => s.kind === "cbc")
  ) {
    for (const etm of [false, true]) {
      const k = keys(suite, etm);
      const wire = concat(
        await write(new RecordWriter({ protector: new CbcHmacProtector(k) }), messages),
      );
      for (let cut = 0; cut <= wire.length; cut++) {
        const records = await read(
          [wire.subarray(0, cut), wire.subarray(cut)],
          new RecordReader({ protector: new CbcHmacProtector(k) }),
        );
        assert.deepEqual(records.map((r) => r.fragment), messages, `${suite.name} cut ${cut}`);
        assert.deepEqual(records.map((r) => r.sequence), [0n, 1n, 2n]);
      }
    }
  }
});

Deno.test("reader: one byte per chunk, and all records in one chunk", async () => {
  const k = keys(CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA, false);
  const wire = concat(
    await write(new RecordWriter({ protector: new CbcHmacProtector(k) }), messages),
  );
  const bytewise = [...wire].map((b) => new Uint8Array([b]));
  for (const chunks of [bytewise, [wire]]) {
    const records = await read(chunks, new RecordReader({ protector: new CbcHmacProtector(k) }));
    assert.deepEqual(records.map((r) => r.fragment), messages);
  }
});

Deno.test("change_cipher_spec: both sides switch keys in order with the data", async () => {
  const k = keys(CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA, true);
  const wire = concat(
    await write(new RecordWriter(), [
      { type: ContentType.handshake, data: new Uint8Array([1, 2]) },
      { type: ContentType.change_cipher_spec, data: new Uint8Array([1]) },
      { protector: new CbcHmacProtector(k) },
      { type: ContentType.handshake, data: new Uint8Array([20, 0, 0, 0]) },
      new Uint8Array([9, 9]),
    ]),
  );
  const reader = new RecordReader();
  const seen: InboundRecord[] = [];
  const done = ReadableStream.from([wire]).pipeThrough(reader).pipeTo(
    new WritableStream({
      write(record) {
        seen.push(record);
        if (record.type === ContentType.change_cipher_spec) {
          reader.setProtector(new CbcHmacProtector(k));
        }
      },
    }),
  );
  await done;
  assert.deepEqual(seen.map((r) => [r.type, r.sequence, [...r.fragment]]), [
    [22, 0n, [1, 2]],
    [20, 1n, [1]],
    [22, 0n, [20, 0, 0, 0]],
    [23, 1n, [9, 9]],
  ]);
});

Deno.test("reader errors with the right alert on malformed input", async () => {
  const good = encodeTlsRecord({ type: 23, version: 0x0303, fragment: new Uint8Array(3) });
  const cases: [string, Uint8Array[], number, RecordReader?][] = [
    ["bad version", [Uint8Array.fromHex("1703020001ff")], AlertDescription.decode_error],
    [
      "unknown type",
      [good, Uint8Array.fromHex("3003030001ff")],
      AlertDescription.unexpected_message,
    ],
    ["oversize", [Uint8Array.fromHex("1703034801")], AlertDescription.record_overflow],
    ["truncated", [good.subarray(0, 6)], AlertDescription.decode_error],
    [
      "plaintext over record_size_limit",
      [encodeTlsRecord({ type: 23, version: 0x0303, fragment: new Uint8Array(65) })],
      AlertDescription.record_overflow,
      new RecordReader({ limits: recordLimits(64) }),
    ],
  ];
  const k = keys(CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256, false);
  const sealed = concat(
    await write(new RecordWriter({ protector: new CbcHmacProtector(k) }), messages),
  );
  const tampered = sealed.slice();
  tampered[20]! ^= 1;
  cases.push([
    "tampered",
    [tampered],
    AlertDescription.bad_record_mac,
    new RecordReader({
      protector: new CbcHmacProtector(k),
    }),
  ]);
  const short = encodeTlsRecord({ type: 23, version: 0x0303, fragment: new Uint8Array(40) });
  cases.push([
    "short ciphertext",
    [short],
    AlertDescription.bad_record_mac,
    new RecordReader({
      protector: new CbcHmacProtector(k),
    }),
  ]);
  const misaligned = encodeTlsRecord({ type: 23, version: 0x0303, fragment: new Uint8Array(81) });
  cases.push([
    "not a block multiple",
    [misaligned],
    AlertDescription.bad_record_mac,
    new RecordReader({
      protector: new CbcHmacProtector(k),
    }),
  ]);
  for (const [what, chunks, alert, reader] of cases) {
    await expectStreamAlert(read(chunks, reader ?? new RecordReader()), alert).catch((e) => {
      throw new Error(what, { cause: e });
    });
  }
});

Deno.test("datagram writer and reader: several records per datagram, epochs, replays", async () => {
  const k = keys(CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256, true);
  const datagrams = await write(new DatagramRecordWriter(), [
    { type: ContentType.handshake, data: new Uint8Array([1]) },
    { type: ContentType.change_cipher_spec, data: new Uint8Array([1]) },
    { protector: new CbcHmacProtector(k) },
    { type: ContentType.handshake, data: new Uint8Array([20, 1]) },
    new Uint8Array([7, 7, 7]),
  ]);
  assert.deepEqual(
    datagrams.map((d) => {
      const r = decodeDtlsRecord(d);
      return [r.epoch, r.sequenceNumber];
    }),
    [[0, 0], [0, 1], [1, 0], [1, 1]],
  );

  const packed = concat(datagrams);
  const tampered = datagrams[3]!.slice();
  tampered[tampered.length - 1]! ^= 0x80;
  const reader = new DatagramRecordReader();
  reader.setEpoch(1, new CbcHmacProtector(k));
  const records = await Array.fromAsync(
    ReadableStream.from([packed, datagrams[2]!, tampered, Uint8Array.fromHex("17fefd00")])
      .pipeThrough(reader),
  );
  assert.deepEqual(records.map((r) => [r.type, r.epoch, r.sequenceNumber, [...r.fragment]]), [
    [22, 0, 0, [1]],
    [20, 0, 1, [1]],
    [22, 1, 0, [20, 1]],
    [23, 1, 1, [7, 7, 7]],
  ]);
  // The replayed record, the tampered one and the unframeable datagram were dropped.
  assert.equal(reader.dropped, 3);
});

Deno.test("datagram reader: the window advances only after authentication", async () => {
  const k = keys(CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA, false);
  const writer = new DatagramRecordWriter({ protector: new CbcHmacProtector(k) });
  const [genuine] = await write(writer, [new Uint8Array([5])]);
  const forged = genuine!.slice();
  forged[genuine!.length - 1]! ^= 1;
  const reader = new DatagramRecordReader();
  reader.setEpoch(0, new CbcHmacProtector(k));
  const records = await Array.fromAsync(
    ReadableStream.from([forged, genuine!, genuine!]).pipeThrough(reader),
  );
  assert.equal(records.length, 1);
  assert.equal(reader.dropped, 2);
});

Deno.test("datagram reader: unknown epochs are dropped, strict mode errors instead", async () => {
  const record = Uint8Array.fromHex("17fefd000500000000000000021234");
  const lenient = new DatagramRecordReader();
  assert.deepEqual(await Array.fromAsync(ReadableStream.from([record]).pipeThrough(lenient)), []);
  assert.equal(lenient.dropped, 1);
  await expectStreamAlert(
    Array.fromAsync(
      ReadableStream.from([record]).pipeThrough(new DatagramRecordReader({ strict: true })),
    ),
    AlertDescription.unexpected_message,
  );
  await expectStreamAlert(
    Array.fromAsync(
      ReadableStream.from([record.subarray(0, 12)]).pipeThrough(
        new DatagramRecordReader({ strict: true }),
      ),
    ),
    AlertDescription.decode_error,
  );
  const removed = new DatagramRecordReader();
  removed.removeEpoch(0);
  const epoch0 = Uint8Array.fromHex("16fefd000000000000000000021234");
  assert.deepEqual(await Array.fromAsync(ReadableStream.from([epoch0]).pipeThrough(removed)), []);
});

/**
 * The real protector, with each seal answered after a delay that shrinks with the sequence
 * number, so later records finish first; one sequence number can be made to fail.
 */
class OutOfOrderProtector implements RecordProtector {
  readonly maxExpansion: number;
  readonly started: bigint[] = [];
  readonly #inner: CbcHmacProtector;
  readonly #failAt: bigint | undefined;

  constructor(inner: CbcHmacProtector, failAt?: bigint) {
    this.#inner = inner;
    this.maxExpansion = inner.maxExpansion;
    this.#failAt = failAt;
  }

  async seal(context: RecordContext, plaintext: Uint8Array): Promise<Uint8Array> {
    this.started.push(context.sequence);
    const fragment = this.#inner.seal(context, plaintext);
    await new Promise((resolve) => setTimeout(resolve, 20 - 3 * Number(context.sequence % 6n)));
    if (context.sequence === this.#failAt) {
      throw new TlsAlertError(AlertDescription.internal_error, "seal failed");
    }
    return fragment;
  }

  open(context: RecordContext, fragment: Uint8Array): Uint8Array | Promise<Uint8Array> {
    return this.#inner.open(context, fragment);
  }
}

Deno.test("writers seal several records of a large write at once and send them in order", async () => {
  const k = keys(CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA, true);
  const data = new Uint8Array(6 * 16384 + 5).map((_, i) => i * 7);
  const slow = new OutOfOrderProtector(new CbcHmacProtector(k));
  const wire = await write(new RecordWriter({ protector: slow }), [data, messages[0]!]);
  assert.deepEqual(slow.started, [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
  const records = await read(wire, new RecordReader({ protector: new CbcHmacProtector(k) }));
  assert.deepEqual(records.map((r) => r.sequence), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
  assert.deepEqual(concat(records.slice(0, 7).map((r) => r.fragment)), data);

  const dtlsSlow = new OutOfOrderProtector(new CbcHmacProtector(k));
  const datagrams = await write(new DatagramRecordWriter(), [{ protector: dtlsSlow }, data]);
  assert.deepEqual(
    datagrams.map((d) => decodeDtlsRecord(d)).map((r) => [r.epoch, r.sequenceNumber]),
    [0, 1, 2, 3, 4, 5, 6].map((n) => [1, n]),
  );
  const reader = new DatagramRecordReader({ strict: true });
  reader.setEpoch(1, new CbcHmacProtector(k));
  const opened = await Array.fromAsync(ReadableStream.from(datagrams).pipeThrough(reader));
  assert.deepEqual(concat(opened.map((r) => r.fragment)), data);
});

Deno.test("writer: a seal failing while others are in flight errors the stream, nothing after it is sent", async () => {
  const k = keys(CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256, false);
  const failing = new OutOfOrderProtector(new CbcHmacProtector(k), 2n);
  const writer = new RecordWriter({ protector: failing });
  const sent: Uint8Array[] = [];
  const collected = writer.readable.pipeTo(new WritableStream({ write: (c) => void sent.push(c) }));
  const w = writer.writable.getWriter();
  await expectStreamAlert(w.write(new Uint8Array(6 * 16384)), AlertDescription.internal_error);
  await expectStreamAlert(collected, AlertDescription.internal_error);
  assert.deepEqual(sent.map((r) => decodeTlsRecord(r).fragment.length), [16448, 16448]);
  // The records still in flight settle after the error without an unhandled rejection.
  await new Promise((resolve) => setTimeout(resolve, 50));
});

Deno.test("RecordWriter with WebCrypto: a 64 KiB write becomes 4 records that open in order", async () => {
  for (
    const suite of Object.values(CipherSuites).filter((s): s is CbcCipherSuite => s.kind === "cbc")
  ) {
    for (const etm of [false, true]) {
      const k = keys(suite, etm);
      const data = new Uint8Array(65536 + 100).map((_, i) => i * 31 + (i >> 8));
      const protector = new CbcHmacProtector({ ...k, engine: "webcrypto" });
      const wire = await write(new RecordWriter({ protector }), [data]);
      assert.equal(wire.length, 5);
      const records = await read(wire, new RecordReader({ protector: new CbcHmacProtector(k) }));
      assert.deepEqual(concat(records.map((r) => r.fragment)), data, suite.name);
    }
  }
});

Deno.test("RecordWriter: a key change with maxPlaintext fragments what follows to it (a negotiated max_fragment_length)", async () => {
  const writer = new RecordWriter();
  const w = writer.writable.getWriter();
  const out = Array.fromAsync(writer.readable);
  await w.write(new Uint8Array(3000)); // before: 2^14 per record
  await w.write({ protector: new NullProtector(), maxPlaintext: 512 });
  await w.write(new Uint8Array(2000));
  await w.close();
  const lengths = (await out).map((r) => decodeTlsRecord(r).fragment.length);
  assert.deepEqual(lengths, [3000, 512, 512, 512, 464]);
  // A limit RFC 8449 cannot express is refused.
  const badWriter = new RecordWriter();
  const drained = Array.fromAsync(badWriter.readable).catch(() => []);
  const bad = badWriter.writable.getWriter();
  await assert.rejects(bad.write({ protector: new NullProtector(), maxPlaintext: 63 }), RangeError);
  await drained;
});

Deno.test("RecordReader: setProtector with maxPlaintext refuses a larger record as record_overflow", async () => {
  const reader = new RecordReader();
  reader.setProtector(new NullProtector(), 512);
  const records = ReadableStream.from([
    encodeTlsRecord({ type: 23, version: 0x0303, fragment: new Uint8Array(512) }),
    encodeTlsRecord({ type: 23, version: 0x0303, fragment: new Uint8Array(513) }),
  ]).pipeThrough(reader);
  const seen: number[] = [];
  await assert.rejects(
    async () => {
      for await (const record of records) seen.push(record.fragment.length);
    },
    (e) => e instanceof TlsAlertError && e.description === AlertDescription.record_overflow,
  );
  assert.deepEqual(seen, [512]);
});

Deno.test("record streams: a key change and the end of the stream destroy the retired protector", async () => {
  const destroyed: string[] = [];
  const named = (name: string): RecordProtector => ({
    maxExpansion: 0,
    seal: (_context, plaintext) => plaintext,
    open: (_context, fragment) => fragment,
    destroy: () => destroyed.push(name),
  });
  const writer = new RecordWriter({ protector: named("w0") });
  const out = Array.fromAsync(writer.readable);
  const w = writer.writable.getWriter();
  await w.write(new Uint8Array(10));
  await w.write({ protector: named("w1") });
  assert.deepEqual(destroyed, ["w0"]);
  await w.close();
  await out;
  assert.deepEqual(destroyed, ["w0", "w1"]);
  const reader = new RecordReader({ protector: named("r0") });
  reader.setProtector(named("r1"));
  reader.destroy();
  assert.deepEqual(destroyed, ["w0", "w1", "r0", "r1"]);
  // A destroyed software protector refuses work instead of using zeroed keys.
  const suite = CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256;
  const p = new CbcHmacProtector({
    suite,
    encryptThenMac: true,
    encKey: new Uint8Array(16).fill(1),
    macKey: new Uint8Array(32).fill(2),
  });
  p.destroy();
  assert.throws(
    () => p.seal({ type: 23, version: 0x0303, sequence: 0n }, new Uint8Array(1)),
    TypeError,
  );
});
