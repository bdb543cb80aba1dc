/**
 * Property tests of the TLS and DTLS record header codecs and the stream and datagram
 * splitters: records round-trip, any chunking of a TLS byte stream gives the same records as
 * feeding it whole, a datagram splits into exactly the records it was built from, and arbitrary
 * bytes decode or refuse with a `TlsAlertError`, never anything else.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import { ProtocolVersion } from "./content_type.ts";
import { splitDatagram, TlsDeframer } from "./deframer.ts";
import {
  decodeDtlsHeader,
  decodeDtlsRecord,
  decodeTlsHeader,
  decodeTlsRecord,
  DEFAULT_RECORD_LIMITS,
  DTLS_HEADER_LENGTH,
  type DtlsRecord,
  encodeDtlsRecord,
  encodeTlsRecord,
  TLS_HEADER_LENGTH,
  type TlsRecord,
} from "./header.ts";

const runs = { seed: 0x1e5, numRuns: 300 };

const contentType = fc.integer({ min: 20, max: 23 });
/** Mostly short fragments; now and then one at the ciphertext limit. */
const fragment = fc.oneof(
  { weight: 9, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, DEFAULT_RECORD_LIMITS.maxCiphertext).map((n) =>
      new Uint8Array(n).fill(0xa5)
    ),
  },
);
const tlsRecord: fc.Arbitrary<TlsRecord> = fc.record({
  type: contentType,
  version: fc.constant(ProtocolVersion.tls12),
  fragment,
}, { noNullPrototype: true });
const dtlsRecord: fc.Arbitrary<DtlsRecord> = fc.record({
  type: contentType,
  version: fc.constantFrom(ProtocolVersion.dtls12, ProtocolVersion.dtls10),
  epoch: fc.integer({ min: 0, max: 0xffff }),
  sequenceNumber: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
  fragment: fc.uint8Array({ maxLength: 200 }),
}, { noNullPrototype: true });

/** Valid records with one byte changed, inserted or removed, or random bytes. */
function wireish(record: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 100 }),
    fc.tuple(
      fc.array(record, { minLength: 1, maxLength: 3 }),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom("set", "insert", "delete", "none"),
    ).map(([records, where, byte, edit]) => {
      const wire = records.flatMap((r) => [...r]);
      const at = where % wire.length;
      if (edit === "set") wire[at] = byte;
      if (edit === "insert") wire.splice(at, 0, byte);
      if (edit === "delete") wire.splice(at, 1);
      return Uint8Array.from(wire);
    }),
  );
}

/** Cuts `bytes` at the given points (modulo its length) into consecutive chunks. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(at, p));
    at = p;
  }
  return chunks;
}

/** Records and the refusal (or what was left) from feeding a deframer these chunks. */
function deframe(chunks: Uint8Array[]): string[] {
  const deframer = new TlsDeframer();
  const out: string[] = [];
  try {
    for (const chunk of chunks) {
      deframer.push(chunk);
      for (let r = deframer.next(); r; r = deframer.next()) {
        out.push(`${r.type} ${r.version} ${r.fragment.toHex()}`);
      }
    }
    deframer.finish();
    out.push("end");
  } catch (error) {
    assert.ok(error instanceof TlsAlertError, `not a TlsAlertError: ${error}`);
    out.push(`alert ${error.description}`);
  }
  return out;
}

function assertTyped(error: unknown): asserts error is TlsAlertError {
  assert.ok(error instanceof TlsAlertError, `not a TlsAlertError: ${error}`);
}

Deno.test("header property: TLS records round-trip through header and record decoders", () => {
  fc.assert(
    fc.property(tlsRecord, (record) => {
      const wire = encodeTlsRecord(record);
      assert.equal(wire.length, TLS_HEADER_LENGTH + record.fragment.length);
      assert.deepEqual(decodeTlsHeader(wire), {
        type: record.type,
        version: record.version,
        length: record.fragment.length,
      });
      assert.deepEqual(decodeTlsRecord(wire), record);
    }),
    runs,
  );
});

Deno.test("header property: DTLS records round-trip through header and record decoders", () => {
  fc.assert(
    fc.property(dtlsRecord, (record) => {
      const wire = encodeDtlsRecord(record);
      assert.equal(wire.length, DTLS_HEADER_LENGTH + record.fragment.length);
      const { fragment: _, ...header } = record;
      assert.deepEqual(decodeDtlsHeader(wire), { ...header, length: record.fragment.length });
      assert.deepEqual(decodeDtlsRecord(wire), record);
    }),
    runs,
  );
});

Deno.test("header property: every truncation and every trailing byte is a decode_error", () => {
  fc.assert(
    fc.property(tlsRecord, dtlsRecord, fc.nat(), fc.integer({ min: 0, max: 255 }), (t, d, n, b) => {
      for (
        const [wire, decode] of [
          [encodeTlsRecord(t), decodeTlsRecord],
          [encodeDtlsRecord(d), decodeDtlsRecord],
        ] as const
      ) {
        const cut = wire.subarray(0, n % wire.length);
        assert.throws(() => decode(cut), (e) => {
          assertTyped(e);
          return e.description === AlertDescription.decode_error;
        });
        const longer = Uint8Array.of(...wire, b);
        assert.throws(() => decode(longer), (e) => {
          assertTyped(e);
          return e.description === AlertDescription.decode_error;
        });
      }
    }),
    { ...runs, numRuns: 100 },
  );
});

Deno.test("header property: any bytes decode to themselves or refuse with TlsAlertError", () => {
  fc.assert(
    fc.property(
      wireish(tlsRecord.map(encodeTlsRecord)),
      wireish(dtlsRecord.map(encodeDtlsRecord)),
      (tls, dtls) => {
        try {
          assert.deepEqual(encodeTlsRecord(decodeTlsRecord(tls)), tls);
        } catch (error) {
          assertTyped(error);
        }
        try {
          assert.deepEqual(encodeDtlsRecord(decodeDtlsRecord(dtls)), dtls);
        } catch (error) {
          assertTyped(error);
        }
      },
    ),
    runs,
  );
});

Deno.test("header property: a header over the length limit is record_overflow", () => {
  fc.assert(
    fc.property(
      contentType,
      fc.integer({ min: DEFAULT_RECORD_LIMITS.maxCiphertext + 1, max: 0xffff }),
      (type, length) => {
        const header = Uint8Array.of(type, 3, 3, length >> 8, length & 0xff);
        assert.throws(() => decodeTlsHeader(header), (e) => {
          assertTyped(e);
          return e.description === AlertDescription.record_overflow;
        });
      },
    ),
    runs,
  );
});

Deno.test("deframer property: any chunking of a TLS stream gives the same records", () => {
  fc.assert(
    fc.property(
      fc.array(tlsRecord, { maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (records, cuts) => {
        const stream = Uint8Array.from(records.flatMap((r) => [...encodeTlsRecord(r)]));
        const expected = [
          ...records.map((r) => `${r.type} ${r.version} ${r.fragment.toHex()}`),
          "end",
        ];
        assert.deepEqual(deframe([stream]), expected);
        assert.deepEqual(deframe(chunked(stream, cuts)), expected);
      },
    ),
    runs,
  );
});

Deno.test("deframer property: on any bytes, every chunking ends the same way", () => {
  fc.assert(
    fc.property(
      wireish(tlsRecord.map(encodeTlsRecord)),
      fc.array(fc.nat(), { maxLength: 20 }),
      (bytes, cuts) => {
        assert.deepEqual(deframe(chunked(bytes, cuts)), deframe([bytes]));
      },
    ),
    runs,
  );
});

Deno.test("splitDatagram property: a datagram splits into the records it was built from", () => {
  fc.assert(
    fc.property(fc.array(dtlsRecord, { maxLength: 5 }), (records) => {
      const datagram = Uint8Array.from(records.flatMap((r) => [...encodeDtlsRecord(r)]));
      assert.deepEqual(splitDatagram(datagram), records);
    }),
    runs,
  );
});

Deno.test("splitDatagram property: any bytes give whole records, then at most one refusal", () => {
  fc.assert(
    fc.property(wireish(dtlsRecord.map(encodeDtlsRecord)), (datagram) => {
      const refusals: TlsAlertError[] = [];
      const records = splitDatagram(datagram, { onInvalid: (e) => refusals.push(e) });
      const rebuilt = Uint8Array.from(records.flatMap((r) => [...encodeDtlsRecord(r)]));
      assert.deepEqual(rebuilt, datagram.subarray(0, rebuilt.length));
      assert.ok(refusals.length <= 1);
      assert.equal(refusals.length === 0, rebuilt.length === datagram.length);
      try {
        assert.deepEqual(splitDatagram(datagram), records);
        assert.equal(refusals.length, 0);
      } catch (error) {
        assertTyped(error);
        assert.equal(refusals.length, 1);
      }
    }),
    runs,
  );
});
