import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import type { DtlsHandshakeFragment } from "./handshake_header.ts";
import {
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH,
  DEFAULT_MAX_MESSAGES_AHEAD,
  DtlsReassembler,
} from "./reassembler.ts";

function bodyOf(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff);
}

function fragment(
  msgType: number,
  messageSeq: number,
  body: Uint8Array,
  start: number,
  end: number,
): DtlsHandshakeFragment {
  return {
    msgType,
    length: body.length,
    messageSeq,
    fragmentOffset: start,
    body: body.slice(start, end),
  };
}

function split(msgType: number, messageSeq: number, body: Uint8Array, size: number) {
  const out: DtlsHandshakeFragment[] = [];
  for (let at = 0; at < body.length; at += size) {
    out.push(fragment(msgType, messageSeq, body, at, Math.min(at + size, body.length)));
  }
  if (body.length === 0) out.push(fragment(msgType, messageSeq, body, 0, 0));
  return out;
}

function drain(r: DtlsReassembler) {
  const out = [];
  for (let m = r.next(); m !== undefined; m = r.next()) out.push(m);
  return out;
}

function isAlert(description: number): (err: unknown) => boolean {
  return (err) => err instanceof TlsAlertError && err.description === description;
}

// Deterministic shuffle so a failing order can be reproduced from the seed in the message.
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

Deno.test("an unfragmented message comes out at once, then the next expected seq moves on", () => {
  const r = new DtlsReassembler();
  const body = bodyOf(50, 1);
  assert.deepEqual(r.push(fragment(2, 0, body, 0, 50)), { kind: "accepted" });
  assert.deepEqual(r.next(), { msgType: 2, messageSeq: 0, body });
  assert.equal(r.next(), undefined);
  assert.equal(r.nextMessageSeq, 1);
});

Deno.test("an empty message (ServerHelloDone) completes from its single empty fragment", () => {
  const r = new DtlsReassembler({ nextMessageSeq: 3 });
  r.push(fragment(14, 3, new Uint8Array(0), 0, 0));
  assert.deepEqual(r.next(), { msgType: 14, messageSeq: 3, body: new Uint8Array(0) });
});

Deno.test("a flight of fragments in any order, duplicated, yields the messages in order", () => {
  const serverHello = bodyOf(70, 2);
  const certificate = bodyOf(1234, 3);
  const flight = [
    ...split(2, 1, serverHello, 100),
    ...split(11, 2, certificate, 100),
    ...split(14, 3, new Uint8Array(0), 100),
  ];
  for (let seed = 1; seed <= 50; seed++) {
    const r = new DtlsReassembler({ nextMessageSeq: 1 });
    const order = shuffled([...flight, ...flight.slice(0, seed % flight.length)], seed);
    const out = [];
    for (const f of order) {
      const delivered = f.messageSeq < r.nextMessageSeq;
      assert.equal(r.push(f).kind, delivered ? "retransmission" : "accepted", `seed ${seed}`);
      out.push(...drain(r));
    }
    assert.deepEqual(
      out.map((m) => [m.msgType, m.messageSeq, m.body.length]),
      [[2, 1, 70], [11, 2, 1234], [14, 3, 0]],
      `seed ${seed}`,
    );
    assert.deepEqual(out[1]?.body, certificate, `seed ${seed}`);
    assert.equal(r.bufferedAheadBytes, 0, `seed ${seed}`);
  }
});

Deno.test("overlapping fragments of different sizes fill the message exactly", () => {
  const body = bodyOf(1000, 4);
  const r = new DtlsReassembler();
  const pieces: Array<[number, number]> = [[900, 1000], [0, 300], [250, 600], [550, 950]];
  for (const [start, end] of pieces) r.push(fragment(11, 0, body, start, end));
  const message = r.next();
  assert.deepEqual(message?.body, body);
});

Deno.test("a message stays incomplete while any byte is missing", () => {
  const body = bodyOf(300, 5);
  for (const hole of [0, 1, 150, 298, 299]) {
    const r = new DtlsReassembler();
    r.push(fragment(11, 0, body, 0, hole));
    r.push(fragment(11, 0, body, hole + 1, 300));
    assert.equal(r.next(), undefined, `hole at ${hole}`);
    r.push(fragment(11, 0, body, hole, hole + 1));
    assert.deepEqual(r.next()?.body, body, `hole at ${hole}`);
  }
});

Deno.test("pushed bytes are copied, so the record buffer can be reused", () => {
  const r = new DtlsReassembler();
  const scratch = new Uint8Array([1, 2, 3]);
  r.push({ msgType: 2, length: 3, messageSeq: 0, fragmentOffset: 0, body: scratch });
  scratch.fill(0);
  assert.deepEqual(r.next()?.body, new Uint8Array([1, 2, 3]));
});

Deno.test("fragments of delivered messages are reported as a retransmission", () => {
  const r = new DtlsReassembler();
  const hello = bodyOf(10, 6);
  r.push(fragment(2, 0, hello, 0, 10));
  r.next();
  assert.deepEqual(r.push(fragment(2, 0, hello, 0, 5)), {
    kind: "retransmission",
    messageSeq: 0,
  });
  const later = new DtlsReassembler({ nextMessageSeq: 5 });
  assert.deepEqual(later.push(fragment(20, 4, hello, 0, 10)), {
    kind: "retransmission",
    messageSeq: 4,
  });
  assert.equal(later.next(), undefined);
});

Deno.test("a retransmitted fragment is reported even if it disagrees with what was delivered", () => {
  const r = new DtlsReassembler();
  r.push(fragment(2, 0, bodyOf(10, 7), 0, 10));
  r.next();
  assert.equal(r.push(fragment(11, 0, bodyOf(99, 7), 0, 5)).kind, "retransmission");
});

Deno.test("disagreeing length or type for the same message_seq is illegal_parameter", () => {
  const r = new DtlsReassembler();
  r.push(fragment(11, 0, bodyOf(100, 8), 0, 10));
  assert.throws(
    () => r.push(fragment(11, 0, bodyOf(101, 8), 10, 20)),
    isAlert(AlertDescription.illegal_parameter),
  );
  assert.throws(
    () => r.push(fragment(12, 0, bodyOf(100, 8), 10, 20)),
    isAlert(AlertDescription.illegal_parameter),
  );
  const ahead = new DtlsReassembler();
  ahead.push(fragment(14, 2, new Uint8Array(0), 0, 0));
  assert.throws(
    () => ahead.push(fragment(14, 2, new Uint8Array(1), 0, 1)),
    isAlert(AlertDescription.illegal_parameter),
  );
});

Deno.test("a message announcing more than maxMessageLength is rejected before any buffer", () => {
  const r = new DtlsReassembler();
  const over = {
    msgType: 11,
    length: DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH + 1,
    messageSeq: 0,
    fragmentOffset: 0,
    body: new Uint8Array(10),
  };
  assert.throws(() => r.push(over), isAlert(AlertDescription.illegal_parameter));
  const exact = { ...over, length: DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH };
  assert.equal(r.push(exact).kind, "accepted");
  const small = new DtlsReassembler({ maxMessageLength: 100 });
  assert.throws(
    () => small.push(fragment(11, 0, bodyOf(101, 9), 0, 1)),
    isAlert(AlertDescription.illegal_parameter),
  );
  assert.equal(small.push(fragment(11, 0, bodyOf(100, 9), 0, 1)).kind, "accepted");
});

Deno.test("messages too far ahead are dropped and recovered from a later retransmission", () => {
  const r = new DtlsReassembler();
  const last = DEFAULT_MAX_MESSAGES_AHEAD;
  assert.equal(r.push(fragment(1, last, bodyOf(4, 1), 0, 4)).kind, "accepted");
  assert.deepEqual(r.push(fragment(1, last + 1, bodyOf(4, 1), 0, 4)), {
    kind: "dropped",
    reason: "too_far_ahead",
  });
  const strict = new DtlsReassembler({ maxMessagesAhead: 0 });
  assert.equal(strict.push(fragment(1, 1, bodyOf(4, 1), 0, 4)).kind, "dropped");
  strict.push(fragment(1, 0, bodyOf(4, 1), 0, 4));
  assert.equal(strict.next()?.messageSeq, 0);
  assert.equal(strict.push(fragment(1, 1, bodyOf(4, 1), 0, 4)).kind, "accepted");
  assert.equal(strict.next()?.messageSeq, 1);
});

Deno.test("early messages count against maxBufferedBytes; the expected one never does", () => {
  const r = new DtlsReassembler({ maxBufferedBytes: 1000 });
  assert.equal(r.push(fragment(11, 1, bodyOf(600, 1), 0, 1)).kind, "accepted");
  assert.equal(r.bufferedAheadBytes, 600);
  assert.deepEqual(r.push(fragment(12, 2, bodyOf(401, 1), 0, 1)), {
    kind: "dropped",
    reason: "buffer_full",
  });
  assert.equal(r.push(fragment(12, 2, bodyOf(400, 1), 0, 400)).kind, "accepted");
  assert.equal(r.bufferedAheadBytes, 1000);
  // More fragments of messages already held need no new room.
  assert.equal(r.push(fragment(11, 1, bodyOf(600, 1), 1, 600)).kind, "accepted");
  // The expected message is admitted although the early ones fill the budget.
  assert.equal(r.push(fragment(2, 0, bodyOf(5000, 1), 0, 5000)).kind, "accepted");
  assert.deepEqual(
    drain(r).map((m) => m.messageSeq),
    [0, 1, 2],
  );
  assert.equal(r.bufferedAheadBytes, 0);
  assert.equal(DEFAULT_MAX_BUFFERED_BYTES >= 2 * DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH, true);
});

Deno.test("rejects options that are not non-negative integers", () => {
  assert.throws(() => new DtlsReassembler({ maxMessageLength: -1 }), RangeError);
  assert.throws(() => new DtlsReassembler({ maxMessagesAhead: 1.5 }), RangeError);
  assert.throws(() => new DtlsReassembler({ maxBufferedBytes: NaN }), RangeError);
  assert.throws(() => new DtlsReassembler({ nextMessageSeq: -2 }), RangeError);
});

Deno.test("random fragments never break the bounds or throw anything but illegal_parameter", () => {
  let state = 99;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  const maxBufferedBytes = 4_096;
  const r = new DtlsReassembler({ maxMessageLength: 2_048, maxMessagesAhead: 4, maxBufferedBytes });
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const length = next() % 2_200;
    const fragmentOffset = length === 0 ? 0 : next() % length;
    const size = Math.min(next() % 300, length - fragmentOffset);
    const fragment = {
      msgType: 11,
      length,
      messageSeq: r.nextMessageSeq + (next() % 7) - 1,
      fragmentOffset,
      body: new Uint8Array(size),
    };
    try {
      if (fragment.messageSeq >= 0 && r.push(fragment).kind === "accepted") accepted++;
    } catch (err) {
      assert.ok(err instanceof TlsAlertError && err.description === 47, String(err));
    }
    drain(r);
    assert.ok(r.bufferedAheadBytes <= maxBufferedBytes);
  }
  assert.ok(accepted > 0);
});
