/**
 * Property tests of DTLS handshake fragments and their reassembly: fragment headers
 * round-trip, a record of fragments splits back into them, any bytes decode or are refused
 * with a `TlsAlertError`; messages cut into overlapping fragments, duplicated and shuffled in
 * any way come out of `DtlsReassembler` exactly once each, whole and in message_seq order; and
 * whatever fragments arrive, the reassembler never holds more than its byte bound for messages
 * ahead, never throws anything but `TlsAlertError`, and delivers only messages of the length
 * their fragments announced.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { TlsAlertError } from "@anchortls/record";
import {
  decodeDtlsHandshakeRecord,
  type DtlsHandshakeFragment,
  type DtlsHandshakeMessage,
  encodeDtlsHandshakeFragment,
} from "./handshake_header.ts";
import { DtlsReassembler } from "./reassembler.ts";

const runs = { seed: 0xd7, numRuns: 300 };

const fragment: fc.Arbitrary<DtlsHandshakeFragment> = fc.record({
  msgType: fc.integer({ min: 0, max: 255 }),
  messageSeq: fc.integer({ min: 0, max: 0xffff }),
  body: fc.uint8Array({ maxLength: 100 }),
  fragmentOffset: fc.nat({ max: 1000 }),
  extra: fc.nat({ max: 1000 }),
}, { noNullPrototype: true }).map(({ extra, ...f }) => ({
  ...f,
  length: f.fragmentOffset + f.body.length + extra,
}));

/** Fragments a message: random ranges (which may overlap) plus ones that cover every byte. */
function fragmentsOf(
  message: DtlsHandshakeMessage,
  cuts: number[],
  ranges: [number, number][],
): DtlsHandshakeFragment[] {
  const n = message.body.length;
  const points = [...new Set([0, ...cuts.map((c) => c % (n + 1)), n])].sort((a, b) => a - b);
  const part = (from: number, to: number): DtlsHandshakeFragment => ({
    msgType: message.msgType,
    length: n,
    messageSeq: message.messageSeq,
    fragmentOffset: from,
    body: message.body.subarray(from, to),
  });
  const covering = points.length === 1
    ? [part(0, 0)]
    : points.slice(1).map((p, i) => part(points[i]!, p));
  const overlapping = ranges.map(([a, b]) => {
    const from = a % (n + 1);
    return part(from, from + (b % (n - from + 1)));
  });
  return [...covering, ...overlapping];
}

/** Feeds fragments, collecting every message delivered; checks the bound after each push. */
function feed(
  reassembler: DtlsReassembler,
  fragments: readonly DtlsHandshakeFragment[],
  maxBufferedBytes: number,
): DtlsHandshakeMessage[] {
  const out: DtlsHandshakeMessage[] = [];
  for (const f of fragments) {
    reassembler.push(f);
    assert.ok(reassembler.bufferedAheadBytes <= maxBufferedBytes, "over the byte bound");
    for (let m = reassembler.next(); m; m = reassembler.next()) out.push(m);
  }
  return out;
}

Deno.test("DTLS fragment property: fragments round-trip, several to a record", () => {
  fc.assert(
    fc.property(fc.array(fragment, { minLength: 1, maxLength: 5 }), (fragments) => {
      const record = Uint8Array.from(fragments.flatMap((f) => [...encodeDtlsHandshakeFragment(f)]));
      assert.deepEqual(decodeDtlsHandshakeRecord(record), fragments);
    }),
    runs,
  );
});

Deno.test("DTLS fragment property: any bytes decode or are refused with TlsAlertError", () => {
  const bent = fc.tuple(fragment, fc.nat(), fc.integer({ min: 0, max: 255 })).map(
    ([f, at, byte]) => {
      const wire = encodeDtlsHandshakeFragment(f);
      wire[at % wire.length] = byte;
      return wire;
    },
  );
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 60 }), bent), (bytes) => {
      try {
        const fragments = decodeDtlsHandshakeRecord(bytes);
        const again = fragments.flatMap((f) => [...encodeDtlsHandshakeFragment(f)]);
        assert.deepEqual(Uint8Array.from(again), bytes);
      } catch (error) {
        assert.ok(error instanceof TlsAlertError, `not a TlsAlertError: ${error}`);
      }
    }),
    runs,
  );
});

Deno.test("reassembler property: any cut, order and duplication gives each message once", () => {
  const flight = fc.array(
    fc.record({
      msgType: fc.integer({ min: 0, max: 255 }),
      body: fc.uint8Array({ maxLength: 600 }),
      cuts: fc.array(fc.nat(), { maxLength: 8 }),
      ranges: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 }),
    }, { noNullPrototype: true }),
    { minLength: 1, maxLength: 5 },
  );
  fc.assert(
    fc.property(
      flight,
      fc.integer({ min: 0, max: 100 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.infiniteStream(fc.nat()),
      (parts, firstSeq, duplicates, shuffle) => {
        const messages = parts.map((p, i) => ({
          msgType: p.msgType,
          messageSeq: firstSeq + i,
          body: p.body,
        }));
        const fragments = messages.flatMap((m, i) =>
          fragmentsOf(m, parts[i]!.cuts, parts[i]!.ranges)
        );
        for (const d of duplicates) fragments.push(fragments[d % fragments.length]!);
        // Fisher-Yates with the generated stream: any order at all.
        const order = shuffle.take(fragments.length);
        let i = fragments.length;
        for (const r of order) {
          const j = r % i--;
          [fragments[i], fragments[j]] = [fragments[j]!, fragments[i]!];
        }
        const reassembler = new DtlsReassembler({ nextMessageSeq: firstSeq });
        const delivered = feed(reassembler, fragments, 131_072);
        assert.deepEqual(delivered, messages);
        assert.equal(reassembler.nextMessageSeq, firstSeq + messages.length);
        assert.equal(reassembler.bufferedAheadBytes, 0);
        // Late copies of delivered messages are recognised as retransmissions.
        const late = fragments[0]!;
        assert.equal(reassembler.push(late).kind, "retransmission");
      },
    ),
    { ...runs, numRuns: 200 },
  );
});

Deno.test("reassembler property: hostile fragments stay in bounds, refused by alert only", () => {
  const bounds = fc.record({
    maxMessageLength: fc.integer({ min: 0, max: 3000 }),
    maxMessagesAhead: fc.integer({ min: 0, max: 6 }),
    maxBufferedBytes: fc.integer({ min: 0, max: 5000 }),
  }, { noNullPrototype: true });
  const hostile = fc.record({
    msgType: fc.integer({ min: 0, max: 3 }),
    messageSeq: fc.integer({ min: 0, max: 10 }),
    body: fc.uint8Array({ maxLength: 40 }),
    fragmentOffset: fc.nat({ max: 3000 }),
    extra: fc.oneof(fc.nat({ max: 50 }), fc.nat({ max: 0xffffff })),
  }, { noNullPrototype: true }).map(({ extra, ...f }) => ({
    ...f,
    length: Math.min(0xffffff, f.fragmentOffset + f.body.length + extra),
  }));
  fc.assert(
    fc.property(bounds, fc.array(hostile, { maxLength: 60 }), (options, fragments) => {
      const reassembler = new DtlsReassembler(options);
      const announced = new Map<number, number>();
      let pushed = 0;
      try {
        for (const f of fragments) {
          if (!announced.has(f.messageSeq)) announced.set(f.messageSeq, f.length);
          const outcome = reassembler.push(f);
          pushed++;
          assert.ok(
            reassembler.bufferedAheadBytes <= options.maxBufferedBytes,
            `${reassembler.bufferedAheadBytes} bytes held ahead, bound ${options.maxBufferedBytes}`,
          );
          if (outcome.kind === "dropped") announced.delete(f.messageSeq);
          for (let m = reassembler.next(); m; m = reassembler.next()) {
            assert.ok(m.body.length <= options.maxMessageLength, "message over the length bound");
            assert.equal(m.body.length, announced.get(m.messageSeq), "length not as announced");
          }
        }
      } catch (error) {
        assert.ok(error instanceof TlsAlertError, `not a TlsAlertError: ${error}`);
        assert.ok(pushed < fragments.length);
      }
    }),
    runs,
  );
});
