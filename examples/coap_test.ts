import assert from "node:assert/strict";
import {
  block2Of,
  coapCodeString,
  CoapFormatError,
  coapGetRequest,
  type CoapMessage,
  CoapOption,
  CoapType,
  coapUint,
  coapUintBytes,
  decodeCoapMessage,
  encodeCoapMessage,
} from "./coap.ts";
import { parseCoapUrl } from "./coap_get.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("coap: a GET for /temperature encodes to the well-known bytes", () => {
  const bytes = encodeCoapMessage(coapGetRequest(["temperature"], 0x7d34, new Uint8Array(0)));
  assert.equal(bytes.toHex(), "40017d34bb" + text("temperature").toHex());
});

Deno.test("coap: a 2.05 response with token, Content-Format and payload decodes", () => {
  // ACK, 2.05, MID 0x7d34, token 0x0102, Content-Format 0 (delta 12, empty), payload "22.3 C".
  const bytes = Uint8Array.fromHex("6245" + "7d34" + "0102" + "c0" + "ff" + text("22.3 C").toHex());
  const message = decodeCoapMessage(bytes);
  assert.equal(message.type, CoapType.acknowledgement);
  assert.equal(coapCodeString(message.code), "2.05 Content");
  assert.equal(message.messageId, 0x7d34);
  assert.deepEqual([...message.token], [1, 2]);
  assert.deepEqual(message.options, [{
    number: CoapOption.contentFormat,
    value: new Uint8Array(0),
  }]);
  assert.equal(new TextDecoder().decode(message.payload), "22.3 C");
  assert.deepEqual(encodeCoapMessage(message), bytes);
});

const varied: CoapMessage = {
  type: CoapType.confirmable,
  code: 1,
  messageId: 0xbeef,
  token: Uint8Array.fromHex("0011223344556677"),
  options: [
    { number: CoapOption.uriHost, value: text("sensor.example") },
    { number: CoapOption.uriPath, value: text("a".repeat(12)) }, // length nibble 12
    { number: CoapOption.uriPath, value: text("b".repeat(13)) }, // 1-byte length extension
    { number: CoapOption.uriPath, value: text("c".repeat(300)) }, // 2-byte length extension
    { number: CoapOption.uriQuery, value: text("x=1") },
    { number: CoapOption.block2, value: coapUintBytes((5 << 4) | 0x08 | 2) },
    { number: 300, value: new Uint8Array(0) }, // 1-byte delta extension (277)
    { number: 2000, value: Uint8Array.of(1) }, // 2-byte delta extension (1700)
  ],
  payload: text("payload"),
};

Deno.test("coap: round trip through every delta and length form", () => {
  const bytes = encodeCoapMessage(varied);
  assert.deepEqual(decodeCoapMessage(bytes), varied);
  assert.deepEqual(block2Of(decodeCoapMessage(bytes)), { num: 5, more: true, szx: 2 });
});

Deno.test("coap: options are sent in number order whatever order they are given in", () => {
  const reversed = { ...varied, options: [...varied.options].reverse() };
  const decoded = decodeCoapMessage(encodeCoapMessage(reversed));
  assert.deepEqual(decoded.options.map((o) => o.number), varied.options.map((o) => o.number));
  // Repeated options keep their relative order (Uri-Path segments).
  assert.deepEqual(
    decoded.options.filter((o) => o.number === CoapOption.uriPath).map((o) => o.value.length),
    [300, 13, 12],
  );
});

Deno.test("coap: every truncation is rejected or decodes to a different message", () => {
  const bytes = encodeCoapMessage(varied);
  let rejected = 0;
  for (let cut = 0; cut < bytes.length; cut++) {
    try {
      assert.notDeepEqual(decodeCoapMessage(bytes.subarray(0, cut)), varied);
    } catch (error) {
      assert.ok(error instanceof CoapFormatError, `cut at ${cut}: ${error}`);
      rejected++;
    }
  }
  // Well-formed (shorter) messages remain only when cut right after the token, after an option,
  // or inside the payload (its first byte on): CoAP has no length field to tell.
  const wellFormedCuts = 1 + varied.options.length + (varied.payload.length - 1);
  assert.equal(rejected, bytes.length - wellFormedCuts);
});

Deno.test("coap: malformed messages are refused with CoapFormatError", () => {
  const refuse = (hex: string, pattern: RegExp) =>
    assert.throws(
      () => decodeCoapMessage(Uint8Array.fromHex(hex)),
      (e) => e instanceof CoapFormatError && pattern.test(e.message),
    );
  refuse("", /shorter than a header/);
  refuse("400100", /shorter than a header/);
  refuse("80010001", /version 2/);
  refuse("49010001" + "00".repeat(9), /token length 9/);
  refuse("42010001" + "00", /token is cut short/);
  refuse("40010001" + "f0", /reserved option delta/);
  refuse("40010001" + "0f", /reserved option length/);
  refuse("40010001" + "d0", /delta extension cut short/);
  refuse("40010001" + "e000", /delta extension cut short/);
  refuse("40010001" + "b3" + "6162", /value cut short/);
  refuse("40010001" + "ff", /payload marker with no payload/);
});

Deno.test("coap: encoding refuses what cannot be sent", () => {
  assert.throws(
    () => encodeCoapMessage({ ...varied, token: new Uint8Array(9) }),
    RangeError,
  );
  assert.throws(() => encodeCoapMessage({ ...varied, messageId: 0x10000 }), RangeError);
  assert.throws(
    () => encodeCoapMessage({ ...varied, options: [{ number: 70000, value: new Uint8Array(0) }] }),
    RangeError,
  );
});

Deno.test("coap: uint option values", () => {
  for (const n of [0, 1, 255, 256, 65535, 65536, 0xffffffff]) {
    assert.equal(coapUint(coapUintBytes(n)), n);
  }
  assert.equal(coapUintBytes(0).length, 0);
  assert.equal(coapUintBytes(256).toHex(), "0100");
});

Deno.test("coap_get: URLs become host, port, Uri-Path and Uri-Query", () => {
  assert.deepEqual(parseCoapUrl("coaps://localhost/"), {
    secure: true,
    hostname: "localhost",
    port: 5684,
    path: [],
    query: [],
  });
  assert.deepEqual(parseCoapUrl("coap://[::1]:9/a/b%20c?x=1&y"), {
    secure: false,
    hostname: "::1",
    port: 9,
    path: ["a", "b c"],
    query: ["x=1", "y"],
  });
  assert.throws(() => parseCoapUrl("https://localhost/"), /not a coaps:\/\/ or coap:\/\/ URL/);
  assert.throws(() => parseCoapUrl("nonsense"), /not a URL/);
});
