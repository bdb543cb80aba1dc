/**
 * DTLS record target: `splitDatagram` and `decodeDtlsRecord` on one datagram, and a
 * `ReplayWindow` fed the records' sequence numbers. Oracles: the records re-encode to the
 * datagram's exact bytes, in order; with `onInvalid` the split keeps the good records before
 * the bad one, without it the same datagram is refused; `decodeDtlsRecord` accepts exactly the
 * datagrams that hold one whole record; the window agrees with a set of seen numbers.
 *
 * @module
 */

import {
  decodeDtlsRecord,
  encodeDtlsRecord,
  REPLAY_WINDOW_SIZE,
  ReplayWindow,
  splitDatagram,
  TlsAlertError,
} from "@anchortls/record";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

function checkReplayWindow(sequenceNumbers: readonly number[]): number {
  const window = new ReplayWindow();
  const seen = new Set<number>();
  let highest = -1;
  let fresh = 0;
  for (const seq of sequenceNumbers) {
    const expected = !seen.has(seq) && seq > highest - REPLAY_WINDOW_SIZE;
    check(window.check(seq) === expected, `replay window wrong about ${seq}`);
    if (expected) {
      window.mark(seq);
      seen.add(seq);
      highest = Math.max(highest, seq);
      fresh++;
    }
    check(window.highest === highest, "replay window lost its highest number");
  }
  return fresh;
}

const target: FuzzTarget = {
  name: "record_dtls",
  corpus: "record_dtls",
  run(input) {
    let invalid: TlsAlertError | undefined;
    const records = splitDatagram(input, { onInvalid: (error) => (invalid = error) });
    let at = 0;
    for (const record of records) {
      const again = encodeDtlsRecord(record);
      check(sameBytes(again, input.subarray(at, at + again.length)), "record does not re-encode");
      at += again.length;
    }
    check(invalid !== undefined || at === input.length, "split left bytes without a refusal");
    let strict: string;
    try {
      check(splitDatagram(input).length === records.length, "strict split kept other records");
      strict = "accepted";
    } catch (error) {
      if (!(error instanceof TlsAlertError)) throw error;
      strict = "refused";
    }
    check((strict === "refused") === (invalid !== undefined), "strict and lenient split disagree");
    let single = "one record";
    try {
      decodeDtlsRecord(input);
    } catch (error) {
      if (!(error instanceof TlsAlertError)) throw error;
      single = "refused";
    }
    check(
      (single === "one record") === (records.length === 1 && invalid === undefined),
      "decodeDtlsRecord and splitDatagram disagree",
    );
    const fresh = checkReplayWindow(records.map((r) => r.sequenceNumber));
    const why = invalid ? `invalid ${invalid.description}` : "whole";
    return `${Math.min(records.length, 4)} records (${fresh === records.length}), ${why}`;
  },
  expected: (error) => error instanceof TlsAlertError,
};

export default target;
