import assert from "node:assert/strict";
import { decodeOid, DerError, DerReader, TagClass } from "./der.ts";

const r = (hex: string): DerReader => new DerReader(Uint8Array.fromHex(hex));

function rejects(fn: () => unknown, offset?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DerError, String(e));
    if (offset !== undefined) assert.equal(e.offset, offset, e.message);
    return true;
  });
}

Deno.test("der: lengths must be definite and minimal", () => {
  assert.equal(r("0400").readOctetString().length, 0);
  assert.equal(r("047f" + "00".repeat(127)).readOctetString().length, 127);
  assert.equal(r("048180" + "00".repeat(128)).readOctetString().length, 128);
  assert.equal(r("04820100" + "00".repeat(256)).readOctetString().length, 256);
  rejects(() => r("3080").readSequence(), 1); // indefinite
  rejects(() => r("04817f" + "00".repeat(127)).readOctetString(), 1); // long form for < 128
  rejects(() => r("0482007f" + "00".repeat(127)).readOctetString(), 1); // leading zero
  rejects(() => r("0485010000000000").readOctetString(), 1); // 5 length bytes
  rejects(() => r("0403aabb").readOctetString(), 0); // longer than the buffer
});

Deno.test("der: trailing data and truncation are rejected with offsets", () => {
  const reader = r("050000");
  reader.readNull();
  rejects(() => reader.expectEnd(), 2);
  rejects(() => r("").read(), 0);
  rejects(() => r("04").read(), 1);
  rejects(() => r("0482").read(), 2);
});

Deno.test("der: INTEGER must be minimal two's complement", () => {
  assert.equal(r("020100").readSmallInteger(), 0);
  assert.equal(r("02020080").readSmallInteger(), 128);
  assert.equal(r("020400ffffff").readUnsignedBigInt(), 0xffffffn);
  assert.equal(r("020500ffffffff").readUnsignedBigInt(), 0xffffffffn);
  rejects(() => r("0200").readIntegerBytes(), 0);
  rejects(() => r("02020001").readIntegerBytes(), 0);
  rejects(() => r("0202ff80").readIntegerBytes(), 0);
  rejects(() => r("0201ff").readSmallInteger(), 0); // negative
  rejects(() => r("02050100000000").readSmallInteger(), 0); // too large
  assert.deepEqual(r("0201ff").readIntegerBytes(), Uint8Array.of(0xff));
});

Deno.test("der: BOOLEAN is only 00 or FF, NULL is empty", () => {
  assert.equal(r("0101ff").readBoolean(), true);
  assert.equal(r("010100").readBoolean(), false);
  rejects(() => r("010101").readBoolean(), 2);
  rejects(() => r("01020000").readBoolean(), 0);
  r("0500").readNull();
  rejects(() => r("050100").readNull(), 0);
});

Deno.test("der: BIT STRING unused bits", () => {
  assert.deepEqual(r("03020780").readBitString(), { bytes: Uint8Array.of(0x80), unusedBits: 7 });
  assert.deepEqual(r("030100").readBitString(), { bytes: new Uint8Array(0), unusedBits: 0 });
  rejects(() => r("0300").readBitString(), 0);
  rejects(() => r("03020881").readBitString(), 2); // unused > 7
  rejects(() => r("03020181").readBitString(), 2); // unused bit set
  rejects(() => r("030101").readBitString(), 2); // unused bits with no data
});

Deno.test("der: OIDs decode to dotted form", () => {
  assert.equal(r("0603550403").readOid(), "2.5.4.3");
  assert.equal(r("06092a864886f70d01010b").readOid(), "1.2.840.113549.1.1.11");
  assert.equal(r("0603883703").readOid(), "2.999.3");
  rejects(() => r("0600").readOid(), 0);
  rejects(() => r("06025580").readOid()); // truncated arc
  rejects(() => r("0603558003").readOid(), 3); // non-minimal arc
  rejects(() => decodeOid(r("0609ffffffffffffffff7f").read()));
});

Deno.test("der: times follow RFC 5280", () => {
  const utc = (s: string): string =>
    "17" + s.length.toString(16).padStart(2, "0") +
    new TextEncoder().encode(s).toHex();
  const gen = (s: string): string =>
    "18" + s.length.toString(16).padStart(2, "0") +
    new TextEncoder().encode(s).toHex();
  assert.equal(r(utc("491231235959Z")).readTime().toISOString(), "2049-12-31T23:59:59.000Z");
  assert.equal(r(utc("500101000000Z")).readTime().toISOString(), "1950-01-01T00:00:00.000Z");
  assert.equal(r(gen("20600101000000Z")).readTime().toISOString(), "2060-01-01T00:00:00.000Z");
  assert.equal(r(gen("00010101000000Z")).readTime().toISOString(), "0001-01-01T00:00:00.000Z");
  assert.equal(r(utc("240229120000Z")).readTime().toISOString(), "2024-02-29T12:00:00.000Z");
  for (
    const bad of [
      utc("4912312359Z"), // no seconds
      utc("491231235959"), // no Z
      utc("491231235959+0000"),
      utc("230229120000Z"), // not a leap year
      utc("491331235959Z"),
      utc("491200235959Z"),
      utc("491231245959Z"),
      utc("491231236059Z"),
      utc("491231235960Z"),
      utc("4912312359 9Z"),
      gen("20600101000000.5Z"), // fractional seconds
      gen("206001010000Z"),
      "0500",
    ]
  ) {
    rejects(() => r(bad).readTime());
  }
});

Deno.test("der: tags, constructed bit and high tag numbers", () => {
  const el = r("bf8201020500").read();
  assert.equal(el.tagClass, TagClass.contextSpecific);
  assert.equal(el.constructed, true);
  assert.equal(el.tagNumber, 257);
  rejects(() => r("1f1e00").read(), 1); // high form for a low number
  rejects(() => r("1f800100").read(), 1); // leading 0x80
  rejects(() => r("0403aabbcc").readSequence(), 0);
  rejects(() => r("2400").readOctetString(), 0); // constructed OCTET STRING
});

Deno.test("der: nesting depth is bounded", () => {
  let hex = "0500";
  for (let i = 0; i < 40; i++) {
    const len = hex.length / 2;
    hex = "30" + (len < 128 ? len.toString(16).padStart(2, "0") : "81" + len.toString(16)) + hex;
  }
  let reader = r(hex);
  assert.throws(() => {
    for (;;) reader = reader.readSequence();
  }, (e: unknown) => e instanceof DerError && /nesting/.test(e.message));
});

Deno.test("der: offsets are absolute inside nested readers", () => {
  const outer = r("3006020101020200");
  const seq = outer.readSequence();
  seq.readSmallInteger();
  rejects(() => seq.readSmallInteger(), 5);
});
