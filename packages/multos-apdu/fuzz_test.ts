import assert from "node:assert/strict";
import { ApduError } from "./apdu_error.ts";
import { type ApduForm, decodeCommand, encodeCommand } from "./command.ts";
import { decodeResponse } from "./response.ts";
import { ApduExchange } from "./exchange.ts";
import { PIN, provisionedChip } from "./_test_support.ts";

/** xorshift32: a seeded stream, so a failure names the seed that reproduces it. */
function seeded(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

function bytes(next: (n: number) => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => next(256));
}

const SEED = 0x5eed1234;

Deno.test(`fuzz (seed ${SEED}): decodeCommand accepts or throws ApduError, and round-trips what it accepts`, () => {
  const next = seeded(SEED);
  for (let i = 0; i < 20000; i++) {
    const length = next(3) === 0 ? next(12) : next(300);
    const input = bytes(next, length);
    if (length > 5 && next(2)) input[4] = 0;
    for (const form of ["short", "extended", "multos"] as ApduForm[]) {
      let decoded;
      try {
        decoded = decodeCommand(input, form);
      } catch (e) {
        assert.ok(e instanceof ApduError, `seed ${SEED} case ${i} ${form}: ${e}`);
        continue;
      }
      assert.deepEqual(encodeCommand(decoded, form), input, `seed ${SEED} case ${i} ${form}`);
    }
  }
});

Deno.test(`fuzz (seed ${SEED}): the emulator answers every byte string with a status word`, async () => {
  const next = seeded(SEED + 1);
  const chip = await provisionedChip();
  const select = Uint8Array.fromHex("00a4040c000aa00000014454434f5245");
  chip.handle(select);
  const pin = new Uint8Array(12).fill(0xff);
  pin.set(new TextEncoder().encode(PIN));
  const verified = encodeCommand({ cla: 0x80, ins: 0x20, p1: 0, p2: 1, data: pin }, "multos");
  assert.equal(decodeResponse(chip.handle(verified)).sw, 0x9000);
  const instructions = [
    0x20,
    0x22,
    0x2a,
    0x40,
    0x46,
    0x84,
    0x85,
    0x86,
    0x88,
    0xa4,
    0xb0,
    0xb1,
    0xd6,
    0xe0,
    0xe4,
    0xe6,
    0xe7,
  ];
  for (let i = 0; i < 5000; i++) {
    let apdu: Uint8Array;
    if (next(4) === 0) {
      apdu = bytes(next, next(40));
    } else {
      const data = bytes(next, next(5) === 0 ? next(300) : next(70));
      apdu = encodeCommand({
        cla: [0x80, 0x80, 0x90, 0x00, 0x84][next(5)]!,
        ins: instructions[next(instructions.length)]!,
        p1: next(3)
          ? [0, 1, 2, 3, 4, 5, 0x41, 0xf3, 0x80, 0x86, 0x9e, 0x9f, 0x81][next(13)]!
          : next(256),
        p2: next(3) ? [0, 1, 2, 3, 0x20, 0x80, 0x86, 0x9a, 0xb6, 0xb8, 0xba][next(11)]! : next(256),
        ...(data.length ? { data } : {}),
        ...(next(2) ? { le: 1 + next(300) } : {}),
      }, "multos");
      if (apdu[1] === 0x20) continue; // keep the PIN verified and unblocked
    }
    const response = chip.handle(apdu);
    assert.ok(response.length >= 2, `seed ${SEED + 1} case ${i}`);
    const { sw } = decodeResponse(response);
    assert.ok(
      (sw >> 12 === 6 || sw >> 12 === 9) && sw !== 0x6f00,
      `seed ${SEED + 1} case ${i}: ${sw.toString(16)}`,
    );
  }
});

Deno.test(`fuzz (seed ${SEED}): ApduExchange ends or asks again, never loops or crashes`, () => {
  const next = seeded(SEED + 2);
  for (let i = 0; i < 3000; i++) {
    const exchange = new ApduExchange({
      cla: 0x80,
      ins: 0xca,
      p1: 0,
      p2: 0,
      data: bytes(next, next(20)),
      le: 8,
    }, {
      chunkSize: 1 + next(10),
      form: (["short", "multos"] as const)[next(2)]!,
    });
    exchange.start();
    let steps = 0;
    for (;;) {
      const sw1 = [0x90, 0x61, 0x6c, 0x69, 0x6a, 0x12][next(6)]!;
      let step;
      try {
        step = exchange.receive(Uint8Array.of(...bytes(next, next(4)), sw1, next(256)));
      } catch (e) {
        assert.ok(e instanceof ApduError, `seed ${SEED + 2} case ${i}: ${e}`);
        break;
      }
      if (step.kind === "done") break;
      assert.ok(++steps < 200, `seed ${SEED + 2} case ${i}: exchange does not end`);
    }
  }
});
