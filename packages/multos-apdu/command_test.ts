import assert from "node:assert/strict";
import { ApduError } from "./apdu_error.ts";
import { type ApduForm, type CommandApdu, decodeCommand, encodeCommand } from "./command.ts";

const hdr = { cla: 0x80, ins: 0x2a, p1: 0x9e, p2: 0x9a };
const d3 = Uint8Array.fromHex("010203");

// Worked out by hand from ISO/IEC 7816-4 §5.1 and MULTOS command mode (2-byte Lc/Le always).
const vectors: [string, CommandApdu, ApduForm, string][] = [
  ["case 1 short", hdr, "short", "802a9e9a"],
  ["case 2 short", { ...hdr, le: 16 }, "short", "802a9e9a10"],
  ["case 2 short Ne 256", { ...hdr, le: 256 }, "short", "802a9e9a00"],
  ["case 3 short", { ...hdr, data: d3 }, "short", "802a9e9a03010203"],
  ["case 4 short", { ...hdr, data: d3, le: 2 }, "short", "802a9e9a0301020302"],
  ["case 4 short Ne 256", { ...hdr, data: d3, le: 256 }, "short", "802a9e9a0301020300"],
  ["case 1 extended", hdr, "extended", "802a9e9a"],
  ["case 2 extended", { ...hdr, le: 0x1234 }, "extended", "802a9e9a001234"],
  ["case 2 extended Ne 65536", { ...hdr, le: 65536 }, "extended", "802a9e9a000000"],
  ["case 3 extended", { ...hdr, data: d3 }, "extended", "802a9e9a000003010203"],
  ["case 4 extended", { ...hdr, data: d3, le: 0x0100 }, "extended", "802a9e9a0000030102030100"],
  [
    "case 4 extended Ne 65536",
    { ...hdr, data: d3, le: 65536 },
    "extended",
    "802a9e9a0000030102030000",
  ],
  ["case 1 multos", hdr, "multos", "802a9e9a0000"],
  ["case 2 multos", { ...hdr, le: 0xf0 }, "multos", "802a9e9a00f0"],
  ["case 3 multos", { ...hdr, data: d3 }, "multos", "802a9e9a0003010203"],
  ["case 4 multos", { ...hdr, data: d3, le: 0x28 }, "multos", "802a9e9a00030102030028"],
  ["case 4 multos any length", { ...hdr, data: d3, le: 65536 }, "multos", "802a9e9a00030102030000"],
  ["case 2 auto short", { ...hdr, le: 256 }, "auto", "802a9e9a00"],
  ["case 2 auto extended", { ...hdr, le: 257 }, "auto", "802a9e9a000101"],
];

for (const [title, command, form, wire] of vectors) {
  Deno.test(`encodeCommand: ${title}`, () => {
    assert.equal(encodeCommand(command, form).toHex(), wire);
  });
  Deno.test(`decodeCommand: ${title} round trip`, () => {
    const decoded = decodeCommand(Uint8Array.fromHex(wire), form);
    assert.deepEqual(decoded, command);
    assert.equal(encodeCommand(decoded, form).toHex(), wire);
  });
  Deno.test(`decodeCommand: ${title} with a trailing byte is not read as itself`, () => {
    const longer = Uint8Array.fromHex(wire + "ee");
    // ISO's one ambiguity: a short case 1 or 3 plus one byte is a valid case 2 or 4 (Le).
    const shortPlusLe = form !== "multos" && form !== "extended" && command.le === undefined &&
      (command.data?.length ?? 0) < 256;
    if (shortPlusLe) {
      assert.equal(decodeCommand(longer, form).le, 0xee);
      return;
    }
    assert.throws(() => decodeCommand(longer, form), ApduError);
  });
}

Deno.test("decodeCommand: every truncation of a multos case 4 command is rejected", () => {
  const wire = Uint8Array.fromHex("802a9e9a00030102030028");
  for (let n = 0; n < wire.length; n++) {
    if (n === 6 || n === 9) continue; // complete case 2, and case 3 without its Le
    assert.throws(() => decodeCommand(wire.subarray(0, n), "multos"), ApduError, `length ${n}`);
  }
  assert.deepEqual(decodeCommand(wire.subarray(0, 6), "multos"), { ...hdr, le: 3 });
});

Deno.test("decodeCommand: every truncation of an extended case 4 command is rejected", () => {
  const wire = Uint8Array.fromHex("802a9e9a0000030102030100");
  for (let n = 0; n < wire.length; n++) {
    // Complete case 1, short case 2, extended case 2, and extended case 3 without its Le.
    if (n === 4 || n === 5 || n === 7 || n === 10) continue;
    assert.throws(() => decodeCommand(wire.subarray(0, n), "extended"), ApduError, `length ${n}`);
  }
});

Deno.test("decodeCommand: every truncation of a short case 4 command is rejected", () => {
  const wire = Uint8Array.fromHex("802a9e9a0301020302");
  for (let n = 0; n < wire.length; n++) {
    if (n === 4 || n === 5 || n === 8) continue; // case 1, case 2, and case 3 (Lc 3 + 3 bytes)
    assert.throws(() => decodeCommand(wire.subarray(0, n), "short"), ApduError, `length ${n}`);
  }
});

Deno.test("decodeCommand: multos Lc 0 with data is rejected", () => {
  assert.throws(() => decodeCommand(Uint8Array.fromHex("802a9e9a000001"), "multos"), ApduError);
});

Deno.test("encodeCommand: bad lengths are rejected with the command named", () => {
  const bad: [CommandApdu, ApduForm][] = [
    [{ ...hdr, data: new Uint8Array(256) }, "short"],
    [{ ...hdr, le: 257 }, "short"],
    [{ ...hdr, le: 0 }, "short"],
    [{ ...hdr, le: 65537 }, "extended"],
    [{ ...hdr, data: new Uint8Array(65536) }, "extended"],
    [{ ...hdr, data: new Uint8Array(65536) }, "multos"],
    [{ ...hdr, le: 65536 }, "multos"],
    [{ ...hdr, le: 1.5 }, "multos"],
    [{ ...hdr, ins: 0x100 }, "multos"],
    [{ ...hdr, cla: -1 }, "short"],
  ];
  for (const [command, form] of bad) {
    assert.throws(() => encodeCommand(command, form), ApduError, `${form} ${command.le}`);
  }
  try {
    encodeCommand({ ...hdr, le: 257 }, "short");
  } catch (e) {
    assert.ok(e instanceof ApduError);
    assert.equal(e.command, "80 2A 9E 9A");
    assert.equal(e.sw, undefined);
    assert.match(e.message, /Le 257 outside 1\.\.256/);
  }
});

Deno.test("encodeCommand: largest lengths each form allows", () => {
  assert.equal(encodeCommand({ ...hdr, data: new Uint8Array(255) }, "short").length, 4 + 1 + 255);
  assert.equal(
    encodeCommand({ ...hdr, data: new Uint8Array(65535), le: 65536 }, "extended").length,
    4 + 3 + 65535 + 2,
  );
  assert.equal(encodeCommand({ ...hdr, le: 65535 }, "multos").toHex(), "802a9e9affff");
});
