/**
 * Bounded resources on the APDU side, each hit exactly at its edge: the chip's 3000-byte
 * buffer for answers (the emulator never answers more than a real chip could hold; the command
 * side is in trust_core_test.ts), and the GET RESPONSE rounds that bound how much one exchange
 * can collect.
 */
import assert from "node:assert/strict";
import { ApduError } from "./apdu_error.ts";
import { encodeCommand } from "./command.ts";
import { ApduExchange } from "./exchange.ts";
import { decodeResponse } from "./response.ts";
import { CHIP_BUFFER_SIZE } from "./trust_core_constants.ts";
import { connect, PIN, provisionedChip } from "./_test_support.ts";

const readBinary = (le?: number) =>
  encodeCommand(
    { cla: 0x80, ins: 0xb0, p1: 0, p2: 0, ...(le === undefined ? {} : { le }) },
    "multos",
  );

Deno.test("limit: the emulator's answer never exceeds the chip's 3000-byte buffer", async () => {
  const chip = await provisionedChip();
  const tc = connect(chip);
  await tc.select();
  await tc.verifyPin(PIN);
  await tc.createFile(0x5311, 4000);
  await tc.selectFile(0x5311);
  // Data ‖ SW of exactly the buffer size is the largest answer.
  const largest = decodeResponse(chip.handle(readBinary(CHIP_BUFFER_SIZE - 2)));
  assert.equal(largest.sw, 0x9000);
  assert.equal(largest.data.length, CHIP_BUFFER_SIZE - 2);
  // One byte more, asked for by length or as "the rest of the file", is refused.
  for (const command of [readBinary(CHIP_BUFFER_SIZE - 1), readBinary(3500), readBinary()]) {
    const answer = chip.handle(command);
    assert.equal(answer.toHex(), "6700", command.toHex());
  }
});

Deno.test("limit: an exchange collects at most 64 GET RESPONSE rounds by default", () => {
  const exchange = new ApduExchange({ cla: 0x80, ins: 0xca, p1: 0, p2: 0, le: 256 });
  exchange.start();
  const piece = encodeResponseBytes(new Uint8Array(256).fill(7), 0x6100);
  for (let round = 0; round < 64; round++) {
    assert.equal(exchange.receive(piece).kind, "send", `round ${round}`);
  }
  assert.throws(
    () => exchange.receive(piece),
    (e) => e instanceof ApduError && /64 GET RESPONSE/.test(e.message),
  );
});

function encodeResponseBytes(data: Uint8Array, sw: number): Uint8Array {
  return Uint8Array.of(...data, sw >> 8, sw & 0xff);
}
