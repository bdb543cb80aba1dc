/**
 * DTLS handshake fragment target: `decodeDtlsHandshakeRecord` on the plaintext of handshake
 * records (one or many fragments back to back), then `DtlsReassembler` fed the fragments in order,
 * in reverse, and each twice. Oracles: the fragments re-encode to the exact input; the reassembler
 * never holds more than its byte bound for messages ahead, and each message it delivers has the
 * type and length its first stored fragment announced, in message_seq order; when the fragments
 * agree with each other and nothing was dropped, every order gives the same messages.
 *
 * @module
 */

import { TlsAlertError } from "@anchortls/record";
import {
  decodeDtlsHandshakeRecord,
  type DtlsHandshakeFragment,
  DtlsReassembler,
  encodeDtlsHandshakeFragment,
} from "@anchortls/handshake/dtls";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

const bounds = { maxMessageLength: 4096, maxMessagesAhead: 4, maxBufferedBytes: 6000 };

interface Reassembled {
  readonly messages: string[];
  readonly dropped: boolean;
  readonly refused: string | undefined;
}

function reassemble(fragments: readonly DtlsHandshakeFragment[]): Reassembled {
  // Start at the lowest message_seq present: a server's flight starts after its
  // HelloVerifyRequest.
  const first = Math.min(...fragments.map((f) => f.messageSeq));
  const reassembler = new DtlsReassembler({ ...bounds, nextMessageSeq: first });
  const messages: string[] = [];
  // The type and length of the first stored fragment of each message: what it must become.
  const announced = new Map<number, string>();
  let dropped = false;
  try {
    for (const fragment of fragments) {
      const outcome = reassembler.push(fragment).kind;
      if (outcome === "dropped") dropped = true;
      if (outcome === "accepted" && !announced.has(fragment.messageSeq)) {
        announced.set(fragment.messageSeq, `${fragment.msgType}/${fragment.length}`);
      }
      check(
        reassembler.bufferedAheadBytes <= bounds.maxBufferedBytes,
        "reassembler holds more than its bound",
      );
      for (let m = reassembler.next(); m; m = reassembler.next()) {
        check(m.messageSeq === first + messages.length, "message out of order");
        check(
          announced.get(m.messageSeq) === `${m.msgType}/${m.body.length}`,
          "message type or length is not the announced one",
        );
        messages.push(`${m.msgType}:${m.body.toHex()}`);
      }
    }
    return { messages, dropped, refused: undefined };
  } catch (error) {
    if (!(error instanceof TlsAlertError)) throw error;
    return { messages, dropped, refused: `${error.description}` };
  }
}

/** Whether every fragment of a message agrees on type, length and overlapping bytes. */
function consistent(fragments: readonly DtlsHandshakeFragment[]): boolean {
  const messages = new Map<number, { type: number; length: number; body: Map<number, number> }>();
  for (const f of fragments) {
    let m = messages.get(f.messageSeq);
    if (!m) {
      m = { type: f.msgType, length: f.length, body: new Map() };
      messages.set(f.messageSeq, m);
    }
    if (m.type !== f.msgType || m.length !== f.length) return false;
    for (let i = 0; i < f.body.length; i++) {
      const held = m.body.get(f.fragmentOffset + i);
      if (held !== undefined && held !== f.body[i]) return false;
      m.body.set(f.fragmentOffset + i, f.body[i]!);
    }
  }
  return true;
}

const target: FuzzTarget = {
  name: "dtls_fragment",
  corpus: "dtls_fragment",
  maxInputLength: 8192,
  run(input) {
    const fragments = decodeDtlsHandshakeRecord(input);
    const again = fragments.map(encodeDtlsHandshakeFragment);
    check(
      sameBytes(Uint8Array.from(again.flatMap((f) => [...f])), input),
      "fragments do not re-encode",
    );
    const forward = reassemble(fragments);
    const backward = reassemble(fragments.toReversed());
    const twice = reassemble(fragments.flatMap((f) => [f, f]));
    const clean = [forward, backward, twice].every((r) => !r.dropped && !r.refused);
    if (consistent(fragments) && clean) {
      check(backward.messages.join() === forward.messages.join(), "reverse order differs");
      check(twice.messages.join() === forward.messages.join(), "duplicates change messages");
    }
    const outcome = forward.refused ? `refused ${forward.refused}` : forward.dropped ? "drop" : "";
    return `${Math.min(fragments.length, 4)} fragments, ${
      Math.min(forward.messages.length, 3)
    } messages ${outcome}`;
  },
  expected: (error) => error instanceof TlsAlertError,
};

export default target;
