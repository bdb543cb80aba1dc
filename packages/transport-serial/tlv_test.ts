import assert from "node:assert/strict";
import { decodeTlv, encodeTlv, TlvDecoder, tlvForm } from "./tlv.ts";

/** Worked by hand from the form rules: top two bits of the first byte pick the form. */
const handWorked: { tag: number; value: string; wire: string }[] = [
  { tag: 0x01, value: "", wire: "01" }, // ACK: form 00, no length
  { tag: 0x3f, value: "", wire: "3f" }, // NACK
  { tag: 0x06, value: "", wire: "06" }, // Reset
  { tag: 0x44, value: "020480", wire: "4403020480" }, // form 01: 1-byte length 03
  { tag: 0x40, value: "", wire: "4000" },
  { tag: 0x7f, value: "ab".repeat(255), wire: "7fff" + "ab".repeat(255) },
  { tag: 0x80, value: "9000", wire: "8000029000" }, // form 10: 2-byte length 0002
  { tag: 0xbf, value: "00".repeat(300), wire: "bf012c" + "00".repeat(300) }, // 300 = 0x012c
  { tag: 0xc123, value: "aabbcc", wire: "c1230003aabbcc" }, // form 11: 2-byte tag + length
  { tag: 0xffff, value: "", wire: "ffff0000" },
];

Deno.test("TLV: hand-worked encodings, both ways", () => {
  for (const { tag, value, wire } of handWorked) {
    assert.equal(encodeTlv(tag, Uint8Array.fromHex(value)).toHex(), wire, `tag ${tag}`);
    const frame = decodeTlv(Uint8Array.fromHex(wire));
    assert.equal(frame.tag, tag);
    assert.equal(frame.value.toHex(), value);
  }
});

Deno.test("TLV: every truncation and any trailing byte is rejected", () => {
  for (const { wire } of handWorked) {
    const bytes = Uint8Array.fromHex(wire);
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => decodeTlv(bytes.subarray(0, n)), RangeError, `${wire} cut at ${n}`);
    }
    const longer = new Uint8Array([...bytes, 0x00]);
    assert.throws(() => decodeTlv(longer), /trailing/);
  }
});

Deno.test("TLV: bad tags and oversize values are refused by the encoder", () => {
  assert.throws(() => tlvForm(0xc0), RangeError);
  assert.throws(() => tlvForm(0x10000), RangeError);
  assert.throws(() => tlvForm(-1), RangeError);
  assert.throws(() => encodeTlv(0x01, new Uint8Array(1)), RangeError);
  assert.throws(() => encodeTlv(0x40, new Uint8Array(256)), RangeError);
  assert.throws(() => encodeTlv(0x80, new Uint8Array(0x10000)), RangeError);
});

Deno.test("TLV decoder: frames split at every byte boundary come out whole", () => {
  const stream = Uint8Array.fromHex(handWorked.map((h) => h.wire).join(""));
  for (const step of [1, 2, 3, 7, 64]) {
    const decoder = new TlvDecoder();
    const frames: string[] = [];
    for (let i = 0; i < stream.length; i += step) {
      decoder.push(stream.subarray(i, i + step));
      for (;;) {
        const r = decoder.next();
        if (r.kind === "needMore") break;
        assert.equal(r.kind, "frame");
        if (r.kind === "frame") frames.push(`${r.frame.tag}:${r.frame.value.toHex()}`);
      }
    }
    assert.deepEqual(frames, handWorked.map((h) => `${h.tag}:${h.value}`), `step ${step}`);
    assert.equal(decoder.buffered, 0);
  }
});

Deno.test("TLV decoder: a length over the cap is an error as soon as the header is in", () => {
  const decoder = new TlvDecoder({ maxValueLength: 3072 });
  decoder.push(Uint8Array.fromHex("80"));
  assert.deepEqual(decoder.next(), { kind: "needMore", buffered: 1 });
  decoder.push(Uint8Array.fromHex("0c01"));
  const r = decoder.next();
  assert.equal(r.kind, "error");
  decoder.clear();
  assert.equal(decoder.buffered, 0);
  decoder.push(Uint8Array.fromHex("01"));
  assert.equal(decoder.next().kind, "frame");
});

Deno.test("TLV decoder fuzz: random bytes in random chunks never throw; frames re-encode", () => {
  let x = 0xc0ffee;
  const random = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  for (let round = 0; round < 300; round++) {
    const bytes = Uint8Array.from({ length: random(400) }, () => random(256));
    const decoder = new TlvDecoder({ maxValueLength: random(2) ? 64 : 0xffff });
    const reencoded: number[] = [];
    let failed = false;
    for (let at = 0; at < bytes.length && !failed;) {
      const n = 1 + random(40);
      decoder.push(bytes.subarray(at, at + n));
      at += n;
      for (;;) {
        const r = decoder.next();
        if (r.kind === "needMore") break;
        if (r.kind === "error") {
          failed = true;
          break;
        }
        reencoded.push(...encodeTlv(r.frame.tag, r.frame.value));
      }
    }
    // Every frame decoded before the first error re-encodes to exactly the bytes it came from.
    assert.deepEqual(
      Uint8Array.from(reencoded),
      bytes.subarray(0, reencoded.length),
      `round ${round}`,
    );
  }
});
