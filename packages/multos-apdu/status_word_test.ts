import assert from "node:assert/strict";
import { ApduError } from "./apdu_error.ts";
import { formatStatusWord, StatusWord, statusWordMeaning, triesLeft } from "./status_word.ts";

Deno.test("statusWordMeaning: fixed and ranged words", () => {
  assert.equal(statusWordMeaning(StatusWord.ok), "success");
  assert.equal(statusWordMeaning(0x6982), "security status not satisfied");
  assert.equal(statusWordMeaning(0x6983), "authentication method blocked");
  assert.equal(statusWordMeaning(0x6381), "no space left (file or memory full)");
  assert.equal(statusWordMeaning(0x6d00), "instruction code not supported or invalid");
  assert.equal(statusWordMeaning(0x6e00), "class not supported");
  assert.equal(statusWordMeaning(0x63c0), "verification failed, 0 tries left");
  assert.equal(statusWordMeaning(0x6110), "16 more bytes available (GET RESPONSE)");
  assert.equal(statusWordMeaning(0x6100), "256 more bytes available (GET RESPONSE)");
  assert.equal(statusWordMeaning(0x6c08), "wrong Le, 8 bytes available");
  assert.equal(statusWordMeaning(0x1234), "unknown status");
});

Deno.test("triesLeft and formatStatusWord", () => {
  assert.equal(triesLeft(0x63c3), 3);
  assert.equal(triesLeft(0x6381), undefined);
  assert.equal(formatStatusWord(0x6a80), "6A80");
  assert.equal(formatStatusWord(0x0001), "0001");
});

Deno.test("ApduError names the command and the status word", () => {
  const e = new ApduError(0x6982, "PSO SIGN", { cause: new Error("x") });
  assert.equal(e.name, "ApduError");
  assert.equal(e.message, "PSO SIGN: 6982 security status not satisfied");
  assert.equal(e.sw, 0x6982);
  assert.ok(e.cause instanceof Error);
  assert.equal(
    new ApduError(0x6700, "X", { detail: "too long" }).message,
    "X: 6700 wrong length, too long",
  );
  assert.equal(new ApduError(undefined, "X", { detail: "bad" }).message, "X: bad");
});
