import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import {
  decodeDtlsHeader,
  decodeDtlsRecord,
  decodeTlsHeader,
  decodeTlsRecord,
  DEFAULT_RECORD_LIMITS,
  type DtlsRecord,
  encodeDtlsRecord,
  encodeTlsRecord,
  recordLimits,
} from "./header.ts";

function expectAlert(fn: () => unknown, description: number, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TlsAlertError, `${what}: ${e}`);
    assert.equal(e.description, description, `${what}: ${e.message}`);
    return true;
  }, what);
}

const tlsRecord = { type: 23, version: 0x0303, fragment: Uint8Array.fromHex("0102030405") };
const dtlsRecord: DtlsRecord = {
  type: 22,
  version: 0xfefd,
  epoch: 0x0102,
  sequenceNumber: 0xa1a2a3a4a5a6,
  fragment: Uint8Array.fromHex("cafe"),
};

Deno.test("TLS records encode to the RFC 5246 layout and round trip", () => {
  const wire = encodeTlsRecord(tlsRecord);
  assert.equal(wire.toHex(), "17030300050102030405");
  assert.deepEqual(decodeTlsRecord(wire), tlsRecord);
  assert.deepEqual(decodeTlsHeader(wire), { type: 23, version: 0x0303, length: 5 });
  const empty = encodeTlsRecord({ ...tlsRecord, fragment: new Uint8Array(0) });
  assert.deepEqual(decodeTlsRecord(empty).fragment, new Uint8Array(0));
  const max = new Uint8Array(16384 + 2048);
  assert.equal(
    decodeTlsRecord(encodeTlsRecord({ ...tlsRecord, fragment: max })).fragment.length,
    max.length,
  );
});

Deno.test("DTLS records encode to the RFC 6347 layout and round trip", () => {
  const wire = encodeDtlsRecord(dtlsRecord);
  assert.equal(wire.toHex(), "16fefd0102a1a2a3a4a5a60002cafe");
  assert.deepEqual(decodeDtlsRecord(wire), dtlsRecord);
  const top = { ...dtlsRecord, epoch: 0xffff, sequenceNumber: 2 ** 48 - 1 };
  assert.deepEqual(decodeDtlsRecord(encodeDtlsRecord(top)), top);
  assert.throws(() => encodeDtlsRecord({ ...dtlsRecord, sequenceNumber: 2 ** 48 }), RangeError);
  assert.throws(() => encodeDtlsRecord({ ...dtlsRecord, epoch: 0x10000 }), RangeError);
  assert.throws(
    () => encodeTlsRecord({ ...tlsRecord, fragment: new Uint8Array(0x10000) }),
    RangeError,
  );
});

Deno.test("every truncation and any trailing byte is a decode_error", () => {
  for (
    const [wire, decode] of [
      [encodeTlsRecord(tlsRecord), (b: Uint8Array) => decodeTlsRecord(b)],
      [encodeDtlsRecord(dtlsRecord), (b: Uint8Array) => decodeDtlsRecord(b)],
    ] as const
  ) {
    for (let n = 0; n < wire.length; n++) {
      expectAlert(() => decode(wire.subarray(0, n)), AlertDescription.decode_error, `cut ${n}`);
    }
    const longer = new Uint8Array(wire.length + 1);
    longer.set(wire);
    expectAlert(() => decode(longer), AlertDescription.decode_error, "trailing");
  }
});

Deno.test("header checks: type, version and length limits map to their alerts", () => {
  for (const type of [0, 19, 24, 255]) {
    const wire = encodeTlsRecord({ ...tlsRecord, type });
    expectAlert(() => decodeTlsRecord(wire), AlertDescription.unexpected_message, `type ${type}`);
    const dwire = encodeDtlsRecord({ ...dtlsRecord, type });
    expectAlert(() => decodeDtlsRecord(dwire), AlertDescription.unexpected_message, `type ${type}`);
  }
  for (const version of [0x0301, 0x0302, 0x0304, 0xfefd, 0x1603]) {
    const wire = encodeTlsRecord({ ...tlsRecord, version });
    expectAlert(() => decodeTlsRecord(wire), AlertDescription.decode_error, `v ${version}`);
  }
  for (const version of [0x0303, 0xfefc]) {
    const wire = encodeDtlsRecord({ ...dtlsRecord, version });
    expectAlert(() => decodeDtlsRecord(wire), AlertDescription.decode_error, `v ${version}`);
  }
  assert.equal(
    decodeDtlsRecord(encodeDtlsRecord({ ...dtlsRecord, version: 0xfeff })).version,
    0xfeff,
  );
  assert.equal(
    decodeTlsRecord(encodeTlsRecord({ ...tlsRecord, version: 0x0301 }), { versions: [0x0301] })
      .version,
    0x0301,
  );
  // Oversize is reported from the header alone, before the body arrives.
  const over = Uint8Array.fromHex("1703034801");
  expectAlert(() => decodeTlsHeader(over), AlertDescription.record_overflow, "2^14+2049");
  assert.equal(decodeTlsHeader(Uint8Array.fromHex("1703034800")).length, 18432);
  const small = { limits: recordLimits(256) };
  assert.equal(decodeTlsHeader(Uint8Array.fromHex("1703030900"), small).length, 2304);
  expectAlert(
    () => decodeTlsHeader(Uint8Array.fromHex("1703030901"), small),
    AlertDescription.record_overflow,
    "record_size_limit",
  );
  expectAlert(
    () => decodeDtlsHeader(Uint8Array.fromHex("17fefd000100000000000109ff"), small),
    AlertDescription.record_overflow,
    "dtls record_size_limit",
  );
});

Deno.test("recordLimits follows RFC 8449 bounds", () => {
  assert.deepEqual(recordLimits(), DEFAULT_RECORD_LIMITS);
  assert.deepEqual(recordLimits(64), { maxPlaintext: 64, maxCiphertext: 2112 });
  for (const bad of [0, 63, 16385, 1.5, NaN]) assert.throws(() => recordLimits(bad), RangeError);
});
