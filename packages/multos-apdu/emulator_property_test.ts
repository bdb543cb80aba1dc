/**
 * Property tests of the emulator's APDU parsing: whatever sequence of byte strings reaches a
 * selected, PIN-verified chip, every answer is a well-formed response with a real status word
 * (never `6F00`, the emulator's "internal error"), and it fits the chip's public buffer.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeCommand } from "./command.ts";
import { decodeResponse } from "./response.ts";
import { CHIP_BUFFER_SIZE, TrustCoreIns } from "./trust_core_constants.ts";
import { PIN, provisionedChip } from "./_test_support.ts";

const runs = { seed: 0x7c0e, numRuns: 150 };

const byte = fc.integer({ min: 0, max: 0xff });

/** A command-mode APDU aimed at the applet, or raw bytes. */
const apdu = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  {
    weight: 4,
    arbitrary: fc.record({
      cla: fc.constantFrom(0x80, 0x80, 0x90, 0x00, 0x84),
      ins: fc.constantFrom(...Object.values(TrustCoreIns)),
      p1: fc.oneof(byte, fc.constantFrom(0, 1, 2, 3, 4, 5, 0x41, 0x53, 0x61, 0x80, 0x86, 0x9e)),
      p2: fc.oneof(byte, fc.constantFrom(0, 1, 2, 0x20, 0x80, 0x86, 0x9a, 0xb6, 0xb8, 0xba)),
      data: fc.uint8Array({ maxLength: 300, size: "medium" }),
      le: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    }).map(({ data, le, ...header }) =>
      encodeCommand({
        ...header,
        ...(data.length ? { data } : {}),
        ...(le === undefined ? {} : { le }),
      }, "multos")
    ),
  },
);

Deno.test("emulator property: every byte string gets a real status word that fits the buffer", async () => {
  const pin = new Uint8Array(12).fill(0xff);
  pin.set(new TextEncoder().encode(PIN));
  const opening = [
    Uint8Array.fromHex("00a4040c000aa00000014454434f5245"),
    encodeCommand({ cla: 0x80, ins: 0x20, p1: 0, p2: 1, data: pin }, "multos"),
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.array(apdu, { minLength: 1, maxLength: 25, size: "max" }),
      async (commands) => {
        const chip = await provisionedChip();
        for (const c of opening) assert.equal(decodeResponse(chip.handle(c)).sw, 0x9000);
        for (const command of commands) {
          const response = chip.handle(command);
          const { sw } = decodeResponse(response);
          assert.notEqual(sw, 0x6f00, `${command.toHex()} hit an internal error`);
          assert.ok(
            response.length <= CHIP_BUFFER_SIZE,
            `${command.toHex()}: ${response.length}-byte answer exceeds the chip's buffer`,
          );
        }
      },
    ),
    runs,
  );
});
