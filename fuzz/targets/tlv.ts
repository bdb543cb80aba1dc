/**
 * TLV target: `decodeTlv` and the streaming `TlvDecoder` on raw link bytes. Oracles: whole and
 * byte-by-byte feeding agree, every frame re-encodes to the exact bytes it came from, no value
 * exceeds the cap, and `decodeTlv` accepts only a single exact frame.
 *
 * @module
 */

import {
  decodeTlv,
  encodeTlv,
  TlvDecoder,
  type TlvDecodeResult,
} from "@anchortls/transport-serial";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

const CAP = 3072;

function decodeAll(chunks: Iterable<Uint8Array>, total: number): TlvDecodeResult[] {
  const decoder = new TlvDecoder({ maxValueLength: CAP });
  const results: TlvDecodeResult[] = [];
  let calls = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (;;) {
      check(++calls <= 2 * total + 2, "TlvDecoder makes no progress");
      const r = decoder.next();
      if (r.kind === "needMore") break;
      results.push(r);
      if (r.kind === "error") return results;
    }
  }
  results.push(decoder.next());
  return results;
}

function* bytewise(input: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < input.length; i++) yield input.subarray(i, i + 1);
}

const describe = (r: TlvDecodeResult): string =>
  r.kind === "frame"
    ? `frame ${r.frame.tag.toString(16)} ${r.frame.value.toHex()}`
    : r.kind === "error"
    ? `error ${r.reason}`
    : `needMore ${r.buffered}`;

const target: FuzzTarget = {
  name: "tlv",
  corpus: "tlv",
  run(input) {
    const whole = decodeAll([input], input.length);
    const split = decodeAll(bytewise(input), input.length);
    check(
      whole.map(describe).join() === split.map(describe).join(),
      "chunking changed what TlvDecoder returned",
    );
    let at = 0;
    for (const r of whole) {
      if (r.kind !== "frame") continue;
      check(r.frame.value.length <= CAP, "frame value over the cap");
      const again = encodeTlv(r.frame.tag, r.frame.value);
      check(sameBytes(again, input.subarray(at, at + again.length)), "frame does not re-encode");
      at += again.length;
    }
    const last = whole[whole.length - 1]!;
    let single = "refused";
    try {
      const frame = decodeTlv(input);
      check(sameBytes(encodeTlv(frame.tag, frame.value), input), "decodeTlv accepted a non-frame");
      single = "single";
    } catch (error) {
      if (!this.expected(error)) throw error;
    }
    return `${Math.min(whole.length - 1, 3)} frames, then ${last.kind}, ${single}`;
  },
  expected: (error) => error instanceof RangeError && /TLV/.test(error.message),
};

export default target;
