/**
 * Property tests of the command-mode messages: Comms Parameters round trips, its decoder turns
 * any value into parameters or `undefined`, and a Command APDU message is the APDU in a TLV.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeCommsParameters,
  encodeCommandApdu,
  encodeCommsParameters,
  hundredsOfBaud,
  MessageTag,
} from "./messages.ts";
import { decodeTlv } from "./tlv.ts";

const runs = { seed: 0x4403, numRuns: 500 };

Deno.test("messages property: Comms Parameters round trip for every encodable rate", () => {
  fc.assert(
    fc.property(fc.boolean(), fc.integer({ min: 1, max: 0xffff }), (ackMode, field) => {
      const parameters = { ackMode, baudRate: field * 100 };
      const wire = encodeCommsParameters(parameters);
      const { tag, value } = decodeTlv(wire);
      assert.equal(tag, MessageTag.commsParameters);
      assert.deepEqual(decodeCommsParameters(value), parameters);
    }),
    runs,
  );
});

Deno.test("messages property: any Comms Parameters value decodes or is refused, never throws", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 6 }), (value) => {
      const parameters = decodeCommsParameters(value);
      if (parameters === undefined) return;
      assert.equal(value.length, 3);
      assert.equal(parameters.ackMode, value[0] === 2);
      assert.equal(parameters.baudRate, hundredsOfBaud.decode((value[1]! << 8) | value[2]!));
    }),
    runs,
  );
});

Deno.test("messages property: a Command APDU message carries the APDU unchanged", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 3000, size: "max" }), (apdu) => {
      const frame = decodeTlv(encodeCommandApdu(apdu));
      assert.equal(frame.tag, MessageTag.commandApdu);
      assert.deepEqual(frame.value, apdu);
    }),
    runs,
  );
});
