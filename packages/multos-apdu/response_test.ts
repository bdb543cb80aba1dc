import assert from "node:assert/strict";
import { ApduError } from "./apdu_error.ts";
import { decodeResponse, encodeResponse } from "./response.ts";

Deno.test("decodeResponse: data and status word", () => {
  const r = decodeResponse(Uint8Array.fromHex("0102039000"));
  assert.equal(r.data.toHex(), "010203");
  assert.equal(r.sw, 0x9000);
  assert.equal(decodeResponse(Uint8Array.fromHex("6982")).data.length, 0);
});

Deno.test("encodeResponse/decodeResponse round trip", () => {
  for (const hex of ["9000", "63c2", "abcdef6a80", "00".repeat(300) + "6100"]) {
    const r = decodeResponse(Uint8Array.fromHex(hex));
    assert.equal(encodeResponse(r.data, r.sw).toHex(), hex);
  }
});

Deno.test("decodeResponse: every truncation below a status word is rejected", () => {
  for (const hex of ["", "90"]) {
    assert.throws(() => decodeResponse(Uint8Array.fromHex(hex), "GET RANDOM"), (e: unknown) => {
      assert.ok(e instanceof ApduError);
      assert.equal(e.command, "GET RANDOM");
      return true;
    });
  }
});

Deno.test("decodeResponse: SW1 outside 6X/9X, and 60, are rejected", () => {
  for (const hex of ["0000", "01029100ff", "7000", "6000", "a000"]) {
    if (hex === "01029100ff") {
      // The last two bytes are the status: 00ff is not a status word.
      assert.throws(() => decodeResponse(Uint8Array.fromHex(hex)), ApduError);
      continue;
    }
    assert.throws(() => decodeResponse(Uint8Array.fromHex(hex)), ApduError, hex);
  }
});

Deno.test("encodeResponse: status word must be 16 bits", () => {
  assert.throws(() => encodeResponse(new Uint8Array(0), 0x10000), ApduError);
});
