import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import { DTLS_SEQUENCE_LIMIT, SequenceCounter, TLS_SEQUENCE_LIMIT } from "./sequence.ts";

Deno.test("sequence counters count from their start and refuse to wrap", () => {
  for (const limit of [TLS_SEQUENCE_LIMIT, DTLS_SEQUENCE_LIMIT]) {
    const seq = new SequenceCounter(limit, limit - 2n);
    assert.equal(seq.next(), limit - 2n);
    assert.equal(seq.peek, limit - 1n);
    assert.equal(seq.next(), limit - 1n);
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => seq.next(),
        (e: unknown) =>
          e instanceof TlsAlertError && e.description === AlertDescription.internal_error,
      );
    }
  }
  const fresh = new SequenceCounter(TLS_SEQUENCE_LIMIT);
  assert.deepEqual([fresh.next(), fresh.next(), fresh.next()], [0n, 1n, 2n]);
  assert.equal(DTLS_SEQUENCE_LIMIT, 0x1000000000000n);
  assert.throws(() => new SequenceCounter(10n, 11n), RangeError);
  assert.throws(() => new SequenceCounter(10n, -1n), RangeError);
});
