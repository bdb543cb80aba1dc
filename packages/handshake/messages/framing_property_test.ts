/**
 * Property tests of TLS handshake framing: messages framed with `encodeTlsHandshake` and cut
 * into handshake records at any points come out of `TlsHandshakeDeframer` whole and in order,
 * any bytes end the same way whatever the record boundaries, and a header announcing more than
 * the limit is refused as soon as it is seen.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import {
  encodeTlsHandshake,
  MAX_HANDSHAKE_MESSAGE_LENGTH,
  TlsHandshakeDeframer,
} from "./framing.ts";

const runs = { seed: 0xf4a, numRuns: 300 };

const message = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  body: fc.oneof(
    { weight: 9, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(20_000).fill(0x3c)) },
  ),
}, { noNullPrototype: true });

/** Cuts `bytes` at the given points into non-empty chunks (records are never empty). */
function records(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = p;
  }
  return out;
}

/** Messages and how it ended, fed these records. */
function deframe(chunks: Uint8Array[], maxLength?: number): string[] {
  const deframer = new TlsHandshakeDeframer(maxLength);
  const out: string[] = [];
  try {
    for (const chunk of chunks) {
      deframer.push(chunk);
      for (let m = deframer.next(); m; m = deframer.next()) {
        assert.deepEqual(m.transcriptBytes, encodeTlsHandshake(m.type, m.body));
        out.push(`${m.type}:${m.body.toHex()}`);
      }
    }
    out.push(deframer.hasPartialMessage ? "partial" : "end");
  } catch (error) {
    assert.ok(error instanceof TlsAlertError, `not a TlsAlertError: ${error}`);
    out.push(`alert ${error.description}`);
  }
  return out;
}

Deno.test("framing property: messages cut into any records come out whole and in order", () => {
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (messages, cuts) => {
        const stream = Uint8Array.from(
          messages.flatMap((m) => [...encodeTlsHandshake(m.type, m.body)]),
        );
        const expected = [...messages.map((m) => `${m.type}:${m.body.toHex()}`), "end"];
        assert.deepEqual(deframe(records(stream, cuts)), expected);
      },
    ),
    runs,
  );
});

Deno.test("framing property: any bytes end the same way whatever the record boundaries", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.integer({ min: 0, max: 300 }),
      (bytes, cuts, maxLength) => {
        assert.deepEqual(deframe(records(bytes, cuts), maxLength), deframe([bytes], maxLength));
      },
    ),
    runs,
  );
});

Deno.test("framing property: an announced length over the limit is refused at its header", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: MAX_HANDSHAKE_MESSAGE_LENGTH + 1, max: 0xffffff }),
      fc.integer({ min: 0, max: 255 }),
      (length, type) => {
        const deframer = new TlsHandshakeDeframer();
        deframer.push(Uint8Array.of(type, length >> 16, (length >> 8) & 0xff, length & 0xff));
        assert.throws(() => deframer.next(), (e) => {
          assert.ok(e instanceof TlsAlertError);
          return e.description === AlertDescription.decode_error;
        });
      },
    ),
    runs,
  );
});

Deno.test("framing property: an empty handshake record is refused", () => {
  assert.throws(() => new TlsHandshakeDeframer().push(new Uint8Array(0)), TlsAlertError);
});
