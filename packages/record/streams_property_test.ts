/**
 * Property tests of the record streams: whatever is written through a protected
 * `RecordWriter` and re-chunked anywhere comes out of a `RecordReader` as the same content in
 * the same records; bytes bent anywhere error the reader with a `TlsAlertError` only; and
 * DTLS datagrams from a `DatagramRecordWriter`, reordered within the replay window,
 * duplicated and mixed with garbage, come out of a `DatagramRecordReader` exactly once each.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { TlsAlertError } from "./alert.ts";
import { CbcHmacProtector } from "./cbc_hmac.ts";
import { type CbcCipherSuite, CipherSuites } from "./cipher_suite.ts";
import { MAX_PLAINTEXT_LENGTH } from "./header.ts";
import {
  DatagramRecordReader,
  DatagramRecordWriter,
  RecordReader,
  RecordWriter,
  type RecordWriterInput,
} from "./streams.ts";

const runs = { seed: 0x57e, numRuns: 60 };

const keys = fc.tuple(
  fc.constantFrom(
    ...Object.values(CipherSuites).filter((s): s is CbcCipherSuite => s.kind === "cbc"),
  ),
  fc.boolean(),
).map((
  [suite, encryptThenMac],
) => ({
  suite,
  encryptThenMac,
  encKey: new Uint8Array(suite.encKeyLength).fill(1),
  macKey: new Uint8Array(suite.macKeyLength).fill(2),
}));

/** Writes of alert, handshake or application data; now and then one over 2^14 bytes. */
const writes = fc.array(
  fc.record({
    type: fc.constantFrom(21 as const, 22 as const, 23 as const),
    data: fc.oneof(
      { weight: 8, arbitrary: fc.uint8Array({ maxLength: 200 }) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 16_000, max: 40_000 }).map((n) =>
          new Uint8Array(n).fill(n & 0xff)
        ),
      },
    ),
  }, { noNullPrototype: true }),
  { maxLength: 6 },
);

async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  return await Array.fromAsync(stream);
}

async function written(
  writer: TransformStream<RecordWriterInput, Uint8Array>,
  inputs: RecordWriterInput[],
): Promise<Uint8Array[]> {
  const out = collect(writer.readable);
  const w = writer.writable.getWriter();
  for (const input of inputs) await w.write(input);
  await w.close();
  return await out;
}

function rechunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) out.push(bytes.slice(at, p));
    at = p;
  }
  return out;
}

const join = (parts: readonly Uint8Array[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => [...p]));

Deno.test("streams property: protected records survive any re-chunking", async () => {
  await fc.assert(
    fc.asyncProperty(
      keys,
      writes,
      fc.array(fc.nat(), { maxLength: 40 }),
      async (k, messages, cuts) => {
        const records = await written(
          new RecordWriter({ protector: new CbcHmacProtector(k) }),
          messages,
        );
        const read = await collect(
          ReadableStream.from(rechunk(join(records), cuts)).pipeThrough(
            new RecordReader({ protector: new CbcHmacProtector(k) }),
          ),
        );
        // Each write is cut into records of at most 2^14 bytes; empty writes make none.
        const expected = messages.flatMap((m) => {
          const parts = [];
          for (let at = 0; at < m.data.length; at += MAX_PLAINTEXT_LENGTH) {
            parts.push(`${m.type}:${m.data.subarray(at, at + MAX_PLAINTEXT_LENGTH).toHex()}`);
          }
          return parts;
        });
        assert.deepEqual(read.map((r) => `${r.type}:${r.fragment.toHex()}`), expected);
        assert.deepEqual(read.map((r) => r.sequence), expected.map((_, i) => BigInt(i)));
      },
    ),
    runs,
  );
});

Deno.test("streams property: a bent protected stream errors with TlsAlertError only", async () => {
  await fc.assert(
    fc.asyncProperty(
      keys,
      writes.filter((m) => m.some((w) => w.data.length > 0)),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      async (k, messages, where, x, cuts) => {
        const stream = join(
          await written(new RecordWriter({ protector: new CbcHmacProtector(k) }), messages),
        );
        stream[where % stream.length]! ^= x;
        const reading = collect(
          ReadableStream.from(rechunk(stream, cuts)).pipeThrough(
            new RecordReader({ protector: new CbcHmacProtector(k) }),
          ),
        );
        // Every byte is covered: a header, an IV, ciphertext or a MAC.
        await assert.rejects(reading, (e) => {
          assert.ok(e instanceof TlsAlertError, `not a TlsAlertError: ${e}`);
          return true;
        });
      },
    ),
    runs,
  );
});

Deno.test("streams property: DTLS records arrive once each, whatever the network", async () => {
  await fc.assert(
    fc.asyncProperty(
      keys,
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }),
      fc.infiniteStream(fc.nat()),
      async (k, payloads, duplicates, garbage, shuffle) => {
        const datagrams = await written(
          new DatagramRecordWriter(),
          [{ protector: new CbcHmacProtector(k) }, ...payloads],
        );
        const arriving = [...datagrams, ...garbage];
        for (const d of duplicates) arriving.push(datagrams[d % datagrams.length]!);
        const order = shuffle.take(arriving.length);
        let i = arriving.length;
        for (const r of order) {
          const j = r % i--;
          [arriving[i], arriving[j]] = [arriving[j]!, arriving[i]!];
        }
        const reader = new DatagramRecordReader();
        // Only epoch 1 is open: garbage can never pass as an unprotected epoch-0 record.
        reader.removeEpoch(0);
        reader.setEpoch(1, new CbcHmacProtector(k));
        const read = await collect(ReadableStream.from(arriving).pipeThrough(reader));
        assert.deepEqual(
          read.map((r) => r.fragment.toHex()).sort(),
          payloads.map((p) => p.toHex()).sort(),
        );
        assert.equal(reader.dropped >= duplicates.length, true);
      },
    ),
    runs,
  );
});
