/**
 * Property tests of the host's sans-IO command-mode exchange: a well-formed answer is taken
 * whole however it is chunked, and any bytes at all end in `pending`, `done` or a typed
 * failure, never an exception, and a finished exchange stays finished.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CommandExchange,
  type CommandExchangeOptions,
  type ExchangeStep,
} from "./command_exchange.ts";
import { encodeTlv } from "./tlv.ts";

const runs = { seed: 0xc0de, numRuns: 400 };

const options: fc.Arbitrary<CommandExchangeOptions> = fc.record({
  expect: fc.constantFrom("response" as const, "ack" as const),
  ackMode: fc.boolean(),
  maxValueLength: fc.constantFrom(2, 64, 3072, 0xffff),
});

/** Cuts `bytes` at the given points (taken modulo its length) into consecutive chunks. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [...points, bytes.length].map((p, i, all) => bytes.subarray(i ? all[i - 1]! : 0, p));
}

function feed(exchange: CommandExchange, chunks: Uint8Array[]): ExchangeStep {
  let step: ExchangeStep = { kind: "pending" };
  for (const chunk of chunks) step = exchange.receive(chunk);
  return step;
}

Deno.test("exchange property: an ACK and a response arrive whole under any chunking", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0x40, max: 0xbf }),
      fc.uint8Array({ minLength: 2, maxLength: 600, size: "max" }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 10 }),
      (tag, value, ackMode, cuts) => {
        fc.pre(tag >= 0x80 || value.length <= 0xff);
        const wire = Uint8Array.of(...(ackMode ? [0x01] : []), ...encodeTlv(tag, value));
        const exchange = new CommandExchange({ expect: "response", ackMode, maxValueLength: 3072 });
        assert.deepEqual(feed(exchange, chunked(wire, cuts)), { kind: "done", value });
      },
    ),
    runs,
  );
});

Deno.test("exchange property: any bytes end in a typed state that sticks, never a throw", () => {
  const wireish = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(
      fc.constantFrom("", "01", "3f"),
      fc.integer({ min: 0, max: 0xbf }),
      fc.uint8Array({ maxLength: 80 }),
      fc.uint8Array({ maxLength: 3 }),
    ).map(([prefix, tag, value, tail]) =>
      Uint8Array.of(
        ...Uint8Array.fromHex(prefix),
        ...(tag <= 0x3f ? [tag] : encodeTlv(tag, tag <= 0x7f ? value.subarray(0, 255) : value)),
        ...tail,
      )
    ),
  );
  fc.assert(
    fc.property(options, wireish, fc.array(fc.nat(), { maxLength: 8 }), (opts, bytes, cuts) => {
      const exchange = new CommandExchange(opts);
      const step = feed(exchange, chunked(bytes, cuts));
      const final = step.kind === "pending" ? exchange.timeout() : step;
      if (final.kind === "pending") return assert.fail("a timeout must end the exchange");
      if (final.kind === "failed") {
        assert.ok(["framing", "nack", "timeout"].includes(final.failure), final.failure);
        assert.equal(final.needsReset, final.failure !== "nack");
        assert.ok(final.reason.length > 0);
      } else if (opts.expect === "response") {
        assert.ok(final.value.length >= 2 && final.value.length <= opts.maxValueLength);
      } else {
        assert.equal(final.value.length, 0);
      }
      assert.equal(exchange.receive(Uint8Array.of(0x01)), final);
      assert.equal(exchange.timeout(), final);
    }),
    runs,
  );
});

Deno.test("exchange property: a whole answer fed at once is done only if it is exactly one", () => {
  fc.assert(
    fc.property(options, fc.uint8Array({ maxLength: 40 }), (opts, bytes) => {
      const step = new CommandExchange(opts).receive(bytes);
      if (step.kind !== "done") return;
      const ack = opts.expect === "ack" || opts.ackMode ? [0x01] : [];
      const expected = opts.expect === "ack" ? Uint8Array.of(0x01) : undefined;
      if (expected) {
        assert.deepEqual(bytes, expected);
        return;
      }
      // The response's own header is whatever tag form the bytes used; its value ends the input.
      assert.deepEqual(bytes.subarray(0, ack.length), Uint8Array.from(ack));
      assert.deepEqual(bytes.subarray(bytes.length - step.value.length), step.value);
    }),
    { ...runs, numRuns: 2000 },
  );
});
