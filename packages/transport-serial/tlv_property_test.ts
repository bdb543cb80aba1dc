/**
 * Property tests of the command-mode TLV: round trips for every form, and on arbitrary bytes in
 * arbitrary chunks the decoders either produce frames that re-encode to the exact input or
 * refuse with their documented error, always in a bounded number of steps.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeTlv, encodeTlv, TlvDecoder, type TlvDecodeResult, tlvForm } from "./tlv.ts";

/** A fixed seed, so a failure reproduces; fast-check prints it with the counterexample. */
const runs = { seed: 0x7175, numRuns: 400 };

const valueMax = { noLength: 0, shortLength: 0xff, longLength: 0xffff, longTag: 0xffff } as const;

/** A tag of any form with a value that fits it (long values kept rare to stay quick). */
const frame = fc.oneof(
  fc.integer({ min: 0x00, max: 0x3f }),
  fc.integer({ min: 0x40, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xbf }),
  fc.integer({ min: 0xc000, max: 0xffff }),
).chain((tag) => {
  const max = valueMax[tlvForm(tag)];
  const length = fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: 0, max: Math.min(max, 300) }) },
    { weight: 1, arbitrary: fc.constantFrom(...new Set([0, max, Math.max(0, max - 1)])) },
  );
  return length.chain((n) =>
    fc.uint8Array({ minLength: n, maxLength: n }).map((value) => ({ tag, value }))
  );
});

/** Valid frames with one edit (byte changed, inserted or removed), or random bytes. */
const wireish = fc.oneof(
  fc.uint8Array({ maxLength: 500 }),
  fc.tuple(
    fc.array(frame, { minLength: 1, maxLength: 4 }),
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom("set", "insert", "delete", "none"),
  )
    .map(([frames, where, byte, edit]) => {
      const wire = frames.flatMap((f) => [...encodeTlv(f.tag, f.value)]);
      const at = where % wire.length;
      if (edit === "set") wire[at] = byte;
      if (edit === "insert") wire.splice(at, 0, byte);
      if (edit === "delete") wire.splice(at, 1);
      return Uint8Array.from(wire);
    }),
);

/** Cuts `bytes` at the given points (taken modulo its length) into consecutive chunks. */
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

/** Every result the decoder gives for `chunks`, stopping at the first error. */
function decodeAll(chunks: Uint8Array[], maxValueLength?: number): TlvDecodeResult[] {
  const decoder = new TlvDecoder(maxValueLength === undefined ? {} : { maxValueLength });
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const results: TlvDecodeResult[] = [];
  let calls = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (;;) {
      // Each frame consumes at least one byte, so more calls than bytes would be a loop.
      assert.ok(++calls <= total + chunks.length, "decoder does not make progress");
      const r = decoder.next();
      if (r.kind === "needMore") break;
      results.push(r);
      if (r.kind === "error") return results;
    }
  }
  const last = decoder.next();
  if (last.kind !== "needMore" || last.buffered > 0) results.push(last);
  return results;
}

Deno.test("TLV property: encode then decode gives the frame back, for every form", () => {
  fc.assert(
    fc.property(frame, ({ tag, value }) => {
      const wire = encodeTlv(tag, value);
      const decoded = decodeTlv(wire);
      assert.equal(decoded.tag, tag);
      assert.deepEqual(decoded.value, value);
    }),
    runs,
  );
});

Deno.test("TLV property: decodeTlv accepts only bytes it re-encodes exactly, else RangeError", () => {
  fc.assert(
    fc.property(wireish, (bytes) => {
      let decoded;
      try {
        decoded = decodeTlv(bytes);
      } catch (error) {
        assert.ok(error instanceof RangeError, `not a RangeError: ${error}`);
        return;
      }
      assert.deepEqual(encodeTlv(decoded.tag, decoded.value), bytes);
    }),
    runs,
  );
});

Deno.test("TLV property: a stream of frames comes out whole however it is chunked", () => {
  fc.assert(
    fc.property(
      fc.array(frame, { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (frames, cuts) => {
        const wire = Uint8Array.from(frames.flatMap((f) => [...encodeTlv(f.tag, f.value)]));
        const results = decodeAll(chunked(wire, cuts));
        assert.deepEqual(
          results,
          frames.map((f) => ({ kind: "frame", frame: { tag: f.tag, value: f.value } })),
        );
      },
    ),
    runs,
  );
});

Deno.test("TLV property: on arbitrary bytes, chunking never changes what the decoder says", () => {
  fc.assert(
    fc.property(
      wireish,
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
      (bytes, cuts, cap) => {
        const whole = decodeAll([bytes], cap);
        const split = decodeAll(chunked(bytes, cuts), cap);
        assert.deepEqual(split, whole);
        // Every frame before an error re-encodes to exactly the bytes it came from.
        const frames = whole.flatMap((r) => r.kind === "frame" ? [r.frame] : []);
        const reencoded = Uint8Array.from(frames.flatMap((f) => [...encodeTlv(f.tag, f.value)]));
        assert.deepEqual(reencoded, bytes.subarray(0, reencoded.length));
        for (const f of frames) assert.ok(f.value.length <= (cap ?? 0xffff));
      },
    ),
    runs,
  );
});

Deno.test("TLV property: a length over the cap is refused once the header is in, not later", () => {
  const headerLength = { shortLength: 2, longLength: 3, longTag: 4 } as const;
  fc.assert(
    fc.property(
      fc.integer({ min: 0x40, max: 0xffff }).filter((t) => t <= 0xbf || t >= 0xc000),
      fc.integer({ min: 0, max: 0xfffe }),
      fc.nat(),
      (tag, cap, pick) => {
        const form = tlvForm(tag) as keyof typeof headerLength;
        fc.pre(cap < valueMax[form]);
        const length = cap + 1 + pick % (valueMax[form] - cap);
        const header = encodeTlv(tag, new Uint8Array(length)).subarray(0, headerLength[form]);
        const decoder = new TlvDecoder({ maxValueLength: cap });
        decoder.push(header);
        assert.equal(decoder.next().kind, "error");
      },
    ),
    runs,
  );
});
