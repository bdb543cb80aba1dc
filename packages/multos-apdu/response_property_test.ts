/**
 * Property tests of the response APDU codec: every valid status word round-trips with any
 * data, and arbitrary bytes decode to exactly themselves or are refused with `ApduError`.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ApduError } from "./apdu_error.ts";
import { decodeResponse, encodeResponse } from "./response.ts";

const runs = { seed: 0x9000, numRuns: 1000 };

/** SW1 is 61–6F or 90–9F (ISO 7816-4 §5.1.3; 60 is a T=0 procedure byte). */
const validSw = fc.tuple(
  fc.oneof(fc.integer({ min: 0x61, max: 0x6f }), fc.integer({ min: 0x90, max: 0x9f })),
  fc.integer({ min: 0, max: 0xff }),
).map(([sw1, sw2]) => sw1 << 8 | sw2);

Deno.test("response property: data and a valid status word round-trip", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000, size: "max" }), validSw, (data, sw) => {
      const wire = encodeResponse(data, sw);
      assert.equal(wire.length, data.length + 2);
      assert.deepEqual(decodeResponse(wire), { data, sw });
    }),
    runs,
  );
});

Deno.test("response property: any bytes decode to exactly themselves or ApduError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.string(), (bytes, name) => {
      let decoded;
      try {
        decoded = decodeResponse(bytes, name);
      } catch (error) {
        assert.ok(error instanceof ApduError, `not an ApduError: ${error}`);
        assert.equal(error.command, name);
        return;
      }
      assert.deepEqual(encodeResponse(decoded.data, decoded.sw), bytes);
      // The data is a copy: the caller may reuse its buffer.
      if (decoded.data.length > 0) assert.notEqual(decoded.data.buffer, bytes.buffer);
    }),
    runs,
  );
});

Deno.test("response property: a status word that is not 16 bits is refused", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ max: -1 }),
        fc.integer({ min: 0x10000 }),
        fc.double({ noInteger: true }),
      ),
      (sw) => {
        assert.throws(() => encodeResponse(new Uint8Array(0), sw), ApduError);
      },
    ),
    runs,
  );
});
