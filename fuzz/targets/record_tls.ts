/**
 * TLS record target: `TlsDeframer` on a byte stream, `decodeTlsRecord` on the same bytes, and
 * `decodeAlert` on every two-byte alert record. Oracles: feeding the stream whole, in uneven
 * chunks (1 to 34 bytes) or in 7-byte chunks gives the same records and the same refusal; every
 * record re-encodes to the exact bytes it came from; `decodeTlsRecord` accepts exactly the inputs
 * that hold one whole record.
 *
 * @module
 */

import {
  ContentType,
  decodeTlsRecord,
  encodeTlsRecord,
  TlsAlertError,
  TlsDeframer,
  type TlsRecord,
} from "@anchortls/record";
import { decodeAlert } from "@anchortls/handshake";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

interface Deframed {
  readonly records: TlsRecord[];
  /** The alert that stopped it, or "end" / "partial N" when the stream ran out. */
  readonly end: string;
}

/** Chunk sizes for uneven feeding: short and long pieces in turn. */
const uneven = [1, 2, 3, 5, 8, 13, 21, 34, 1, 1];

function deframe(input: Uint8Array, chunks: readonly number[]): Deframed {
  const deframer = new TlsDeframer();
  const records: TlsRecord[] = [];
  try {
    for (let at = 0, i = 0; at < input.length; i++) {
      const size = chunks[i % chunks.length]!;
      deframer.push(input.subarray(at, at + size));
      at += size;
      for (let record = deframer.next(); record; record = deframer.next()) records.push(record);
    }
    check(deframer.buffered < 5 + 0xffff, "deframer holds more than one record");
    return { records, end: deframer.buffered ? `partial ${deframer.buffered}` : "end" };
  } catch (error) {
    if (!(error instanceof TlsAlertError)) throw error;
    return { records, end: `alert ${error.description} ${error.message}` };
  }
}

const describe = (d: Deframed): string =>
  [...d.records.map((r) => `${r.type}/${r.version}/${r.fragment.toHex()}`), d.end].join();

const target: FuzzTarget = {
  name: "record_tls",
  corpus: "record_tls",
  maxInputLength: 8192,
  run(input) {
    const whole = deframe(input, [Math.max(1, input.length)]);
    for (const chunks of [uneven, [7]]) {
      check(describe(deframe(input, chunks)) === describe(whole), `chunks ${chunks} differ`);
    }
    let at = 0;
    let alerts = 0;
    for (const record of whole.records) {
      const again = encodeTlsRecord(record);
      check(sameBytes(again, input.subarray(at, at + again.length)), "record does not re-encode");
      at += again.length;
      if (record.type === ContentType.alert && record.fragment.length === 2) {
        const alert = decodeAlert(record.fragment);
        check(alert.description === record.fragment[1], "alert description changed");
        alerts++;
      }
    }
    let single: string;
    try {
      const record = decodeTlsRecord(input);
      check(sameBytes(encodeTlsRecord(record), input), "decodeTlsRecord does not re-encode");
      single = "one record";
    } catch (error) {
      if (!(error instanceof TlsAlertError)) throw error;
      single = `refused ${error.description}`;
    }
    check(
      (single === "one record") === (whole.records.length === 1 && whole.end === "end"),
      "decodeTlsRecord and TlsDeframer disagree",
    );
    const end = whole.end.startsWith("alert") ? whole.end.split(" ").slice(0, 2).join(" ") : "";
    return `${Math.min(whole.records.length, 3)} records, ${alerts} alerts, ${end}, ${single}`;
  },
  expected: (error) => error instanceof TlsAlertError,
};

export default target;
