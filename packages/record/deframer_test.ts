import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import { splitDatagram, TlsDeframer } from "./deframer.ts";
import { encodeDtlsRecord, encodeTlsRecord, recordLimits, type TlsRecord } from "./header.ts";

function expectAlert(fn: () => unknown, description: number, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TlsAlertError, `${what}: ${e}`);
    assert.equal(e.description, description, `${what}: ${e.message}`);
    return true;
  }, what);
}

const records: TlsRecord[] = [
  { type: 22, version: 0x0303, fragment: new Uint8Array(7).fill(1) },
  { type: 20, version: 0x0303, fragment: new Uint8Array([1]) },
  { type: 23, version: 0x0303, fragment: new Uint8Array(0) },
  { type: 21, version: 0x0303, fragment: new Uint8Array([2, 40]) },
  { type: 23, version: 0x0303, fragment: new Uint8Array(300).map((_, i) => i) },
];
const stream = new Uint8Array(records.flatMap((r) => [...encodeTlsRecord(r)]));

function drain(d: TlsDeframer, out: TlsRecord[]): void {
  for (let r = d.next(); r; r = d.next()) out.push(r);
}

Deno.test("deframer: the stream cut at every pair of offsets yields the same records", () => {
  for (let a = 0; a <= stream.length; a += 3) {
    for (let b = a; b <= stream.length; b += 7) {
      const d = new TlsDeframer();
      const out: TlsRecord[] = [];
      for (const chunk of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) {
        d.push(chunk);
        drain(d, out);
      }
      d.finish();
      assert.deepEqual(out, records, `cuts at ${a}, ${b}`);
    }
  }
});

Deno.test("deframer: one byte at a time, and everything in one chunk", () => {
  const d = new TlsDeframer();
  const out: TlsRecord[] = [];
  for (const byte of stream) {
    d.push(new Uint8Array([byte]));
    drain(d, out);
  }
  d.finish();
  assert.deepEqual(out, records);
  const whole = new TlsDeframer();
  whole.push(stream);
  const all: TlsRecord[] = [];
  drain(whole, all);
  assert.deepEqual(all, records);
  assert.equal(whole.buffered, 0);
});

Deno.test("deframer: returned fragments do not alias the caller's chunk", () => {
  const d = new TlsDeframer();
  const chunk = encodeTlsRecord(records[0]!);
  d.push(chunk);
  chunk.fill(0);
  assert.deepEqual(d.next(), records[0]);
});

Deno.test("deframer: a stream ending inside a record is a decode_error", () => {
  for (let n = 1; n < stream.length; n++) {
    const d = new TlsDeframer();
    d.push(stream.subarray(0, n));
    drain(d, []);
    const boundary = d.buffered === 0;
    if (boundary) d.finish();
    else expectAlert(() => d.finish(), AlertDescription.decode_error, `end at ${n}`);
  }
});

Deno.test("deframer: bad headers fail as soon as the header is complete", () => {
  const cases: [string, string, number][] = [
    ["unknown type", "1803030001", AlertDescription.unexpected_message],
    ["bad version", "1703010001", AlertDescription.decode_error],
    ["oversize", "1703034801", AlertDescription.record_overflow],
  ];
  for (const [what, hex, alert] of cases) {
    const d = new TlsDeframer();
    const header = Uint8Array.fromHex(hex);
    d.push(header.subarray(0, 4));
    assert.equal(d.next(), undefined);
    expectAlert(() => d.push(header.subarray(4)), alert, what);
    // Behind a good record in the same chunk: the good one is delivered first.
    const after = new TlsDeframer();
    const good = encodeTlsRecord(records[1]!);
    after.push(new Uint8Array([...good, ...header]));
    assert.deepEqual(after.next(), records[1]);
    expectAlert(() => after.next(), alert, `${what} after a good record`);
  }
  const limited = new TlsDeframer({ limits: recordLimits(64) });
  expectAlert(
    () => limited.push(Uint8Array.fromHex("1703030841")),
    AlertDescription.record_overflow,
    "record_size_limit",
  );
});

Deno.test("splitDatagram: several records in one datagram, and malformed datagrams", () => {
  const base = { version: 0xfefd, epoch: 1 };
  const parts = [
    { ...base, type: 22, sequenceNumber: 7, fragment: new Uint8Array([1, 2, 3]) },
    { ...base, type: 20, sequenceNumber: 8, fragment: new Uint8Array([1]) },
    { ...base, type: 23, sequenceNumber: 2 ** 48 - 1, fragment: new Uint8Array(0) },
  ];
  const datagram = new Uint8Array(parts.flatMap((r) => [...encodeDtlsRecord(r)]));
  assert.deepEqual(splitDatagram(datagram), parts);
  assert.deepEqual(splitDatagram(new Uint8Array(0)), []);
  for (let n = 1; n < datagram.length; n++) {
    const cut = datagram.subarray(0, n);
    const atBoundary = [16, 30, 43].includes(n);
    if (atBoundary) assert.ok(splitDatagram(cut).length > 0);
    else expectAlert(() => splitDatagram(cut), AlertDescription.decode_error, `cut ${n}`);
  }
  const bad = datagram.slice();
  bad[16] = 99;
  expectAlert(() => splitDatagram(bad), AlertDescription.unexpected_message, "type");
});

Deno.test("deframer and splitter: seeded random input ends in records or a TlsAlertError", () => {
  let seed = 0x5eed;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  for (let round = 0; round < 2000; round++) {
    const input = new Uint8Array(next() % 64).map(() => next() & 0xff);
    // Bias the first bytes towards plausible headers so the length paths are reached too.
    if (input.length > 3 && round % 2 === 0) {
      input[0] = 20 + (next() % 4);
      input[1] = round % 4 === 0 ? 0x03 : 0xfe;
      input[2] = round % 4 === 0 ? 0x03 : 0xfd;
    }
    const what = `seed round ${round}: ${input.toHex()}`;
    try {
      const d = new TlsDeframer();
      for (let at = 0, size = 1; at < input.length; at += size, size = 1 + (next() % 7)) {
        d.push(input.subarray(at, at + size));
        drain(d, []);
      }
    } catch (e) {
      assert.ok(e instanceof TlsAlertError, `${what}: ${e}`);
    }
    try {
      for (const r of splitDatagram(input)) assert.ok(r.fragment.length <= input.length, what);
    } catch (e) {
      assert.ok(e instanceof TlsAlertError, `${what}: ${e}`);
    }
  }
});
