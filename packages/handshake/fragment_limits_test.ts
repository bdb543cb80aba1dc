import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import {
  fragmentExtensions,
  maxFragmentLengthWithin,
  negotiateFragmentLimits,
} from "./fragment_limits.ts";
import { ExtensionType } from "./messages/extensions.ts";

const mfl = (code: number) => ({
  type: ExtensionType.max_fragment_length,
  data: Uint8Array.of(code),
});
const rsl = (n: number) => ({
  type: ExtensionType.record_size_limit,
  data: Uint8Array.of(n >> 8, n & 0xff),
});
const alert = (description: number) => (e: unknown) =>
  e instanceof TlsAlertError && e.description === description;

Deno.test("fragment limits: the ClientHello carries RFC 6066 codes and the RFC 8449 value", () => {
  assert.deepEqual(fragmentExtensions({ maxFragmentLength: 2048, recordSizeLimit: 2048 }), [
    mfl(3),
    rsl(2048),
  ]);
  assert.deepEqual(fragmentExtensions({}), []);
  assert.throws(() => fragmentExtensions({ maxFragmentLength: 3000 as 2048 }), RangeError);
  assert.throws(() => fragmentExtensions({ recordSizeLimit: 63 }), RangeError);
  assert.throws(() => fragmentExtensions({ recordSizeLimit: 16385 }), RangeError);
  assert.equal(maxFragmentLengthWithin(2947), 2048);
  assert.equal(maxFragmentLengthWithin(511), undefined);
  assert.equal(maxFragmentLengthWithin(1 << 14), 4096);
});

Deno.test("fragment limits: what the ServerHello settles, per direction", () => {
  const offer = { maxFragmentLength: 1024, recordSizeLimit: 2000 } as const;
  assert.deepEqual(negotiateFragmentLimits(offer, [mfl(2)]), {
    send: 1024,
    receive: 1024,
    negotiatedBy: "max_fragment_length",
  });
  // record_size_limit: we send within the server's value, it sends within ours.
  assert.deepEqual(negotiateFragmentLimits(offer, [rsl(16385)]), {
    send: 16384,
    receive: 2000,
    negotiatedBy: "record_size_limit",
  });
  assert.deepEqual(negotiateFragmentLimits(offer, [rsl(512)]).send, 512);
  assert.deepEqual(negotiateFragmentLimits(offer, []), {
    send: 16384,
    receive: 16384,
    negotiatedBy: "none",
  });
});

Deno.test("fragment limits: a server that answers wrongly ends the handshake with the RFC's alert", () => {
  const offer = { maxFragmentLength: 2048, recordSizeLimit: 2048 } as const;
  // Another fragment length than offered (RFC 6066 §4).
  assert.throws(
    () => negotiateFragmentLimits(offer, [mfl(4)]),
    alert(AlertDescription.illegal_parameter),
  );
  // Both extensions (RFC 8449 §5).
  assert.throws(
    () => negotiateFragmentLimits(offer, [mfl(3), rsl(2048)]),
    alert(AlertDescription.illegal_parameter),
  );
  // A limit below 64 (RFC 8449 §4).
  assert.throws(
    () => negotiateFragmentLimits(offer, [rsl(63)]),
    alert(AlertDescription.illegal_parameter),
  );
  // Malformed bodies.
  assert.throws(
    () => negotiateFragmentLimits(offer, [{ type: 1, data: Uint8Array.of(3, 3) }]),
    alert(AlertDescription.decode_error),
  );
  assert.throws(
    () => negotiateFragmentLimits(offer, [{ type: 28, data: Uint8Array.of(8) }]),
    alert(AlertDescription.decode_error),
  );
});
