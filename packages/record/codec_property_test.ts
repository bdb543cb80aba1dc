/**
 * Property tests of the wire reader and writer: any sequence of integers and length-prefixed
 * vectors written by `Writer` reads back field for field with `Reader`, and any reads on
 * arbitrary bytes either succeed within the bytes or refuse with a `decode_error` alert.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import { Reader, Writer } from "./codec.ts";

const runs = { seed: 0xc0de, numRuns: 500 };

type Field =
  | { kind: "u8" | "u16" | "u24" | "u48"; value: number }
  | { kind: "bytes" | "vector8" | "vector16" | "vector24"; value: Uint8Array };

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((value) => ({ kind: "u8" as const, value })),
  fc.integer({ min: 0, max: 0xffff }).map((value) => ({ kind: "u16" as const, value })),
  fc.integer({ min: 0, max: 0xffffff }).map((value) => ({ kind: "u24" as const, value })),
  fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((value) => ({ kind: "u48" as const, value })),
  fc.constantFrom("bytes" as const, "vector8" as const, "vector16" as const, "vector24" as const)
    .chain((kind) =>
      fc.uint8Array({ maxLength: kind === "vector8" ? 0xff : 600 }).map((value) => ({
        kind,
        value,
      }))
    ),
);

function write(w: Writer, f: Field): void {
  switch (f.kind) {
    case "u8":
      w.u8(f.value);
      break;
    case "u16":
      w.u16(f.value);
      break;
    case "u24":
      w.u24(f.value);
      break;
    case "u48":
      w.u48(f.value);
      break;
    case "bytes":
      w.bytes(f.value);
      break;
    case "vector8":
      w.vector8((v) => v.bytes(f.value));
      break;
    case "vector16":
      w.vector16((v) => v.bytes(f.value));
      break;
    case "vector24":
      w.vector24((v) => v.bytes(f.value));
      break;
  }
}

function read(r: Reader, f: Field): number | Uint8Array {
  switch (f.kind) {
    case "u8":
      return r.u8();
    case "u16":
      return r.u16();
    case "u24":
      return r.u24();
    case "u48":
      return r.u48();
    case "bytes":
      return r.bytes(f.value.length);
    case "vector8":
      return r.vector8();
    case "vector16":
      return r.vector16();
    case "vector24":
      return r.vector24();
  }
}

const width = { u8: 1, u16: 2, u24: 3, u48: 6, bytes: 0, vector8: 1, vector16: 2, vector24: 3 };

Deno.test("codec property: fields written by Writer read back with Reader", () => {
  fc.assert(
    fc.property(fc.array(field, { maxLength: 20 }), fc.nat({ max: 64 }), (fields, capacity) => {
      // A small starting capacity makes the writer grow in the middle of fields.
      const w = new Writer(capacity);
      for (const f of fields) write(w, f);
      const bytes = w.finish();
      const expected = fields.reduce(
        (n, f) => n + width[f.kind] + (typeof f.value === "number" ? 0 : f.value.length),
        0,
      );
      assert.equal(bytes.length, expected);
      assert.equal(w.length, expected);
      const r = new Reader(bytes);
      for (const f of fields) assert.deepEqual(read(r, f), f.value);
      r.expectEnd();
    }),
    runs,
  );
});

Deno.test("codec property: nested vectors carry their exact lengths", () => {
  fc.assert(
    fc.property(fc.array(fc.array(field, { maxLength: 5 }), { maxLength: 5 }), (groups) => {
      const w = new Writer(1);
      w.vector16((outer) => {
        for (const group of groups) {
          outer.vector16((inner) => group.forEach((f) => write(inner, f)));
        }
      });
      const r = new Reader(w.finish());
      const outer = r.sub(r.u16());
      r.expectEnd();
      for (const group of groups) {
        const inner = outer.sub(outer.u16());
        for (const f of group) assert.deepEqual(read(inner, f), f.value);
        inner.expectEnd();
      }
      outer.expectEnd();
    }),
    runs,
  );
});

Deno.test("codec property: reads on any bytes stay inside them or refuse with decode_error", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.array(field, { maxLength: 12 }),
      (bytes, fields) => {
        const r = new Reader(bytes);
        try {
          for (const f of fields) read(r, f);
          r.expectEnd();
          assert.equal(r.offset, bytes.length);
        } catch (error) {
          assert.ok(error instanceof TlsAlertError, `not a TlsAlertError: ${error}`);
          assert.equal(error.description, AlertDescription.decode_error);
        }
        assert.ok(r.offset <= bytes.length && r.remaining === bytes.length - r.offset);
      },
    ),
    runs,
  );
});

Deno.test("codec property: a vector outside its bounds is refused", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 40 }), (body, min) => {
      const bytes = new Writer().vector8((v) => v.bytes(body)).finish();
      const r = new Reader(bytes);
      if (body.length < min) {
        assert.throws(() => r.vector8(min), TlsAlertError);
      } else {
        assert.deepEqual(r.vector8(min), body);
      }
    }),
    runs,
  );
});
