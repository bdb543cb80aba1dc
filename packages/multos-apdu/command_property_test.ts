/**
 * Property tests of the command APDU codec in all four forms: every command a form can carry
 * round-trips, and arbitrary bytes either decode to a command that re-encodes to exactly those
 * bytes or are refused with an `ApduError` that shows no command data.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ApduError } from "./apdu_error.ts";
import { type ApduForm, type CommandApdu, decodeCommand, encodeCommand } from "./command.ts";

const runs = { seed: 0x7816, numRuns: 500 };

/** Largest Nc and Ne each form can carry; `multos` has no Ne 65536 without data. */
const limits = {
  short: { nc: 255, ne: 256, neWithoutData: 256 },
  extended: { nc: 65535, ne: 65536, neWithoutData: 65536 },
  auto: { nc: 65535, ne: 65536, neWithoutData: 65536 },
  multos: { nc: 65535, ne: 65536, neWithoutData: 65535 },
} as const;

const byte = fc.integer({ min: 0, max: 0xff });

/** A length, mostly small, with the form's edges and the short/extended boundary kept likely. */
function length(min: number, max: number): fc.Arbitrary<number> {
  const edges = [min, min + 1, 255, 256, 257, max - 1, max].filter((n) => n >= min && n <= max);
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min, max: Math.min(max, 300) }) },
    { weight: 2, arbitrary: fc.constantFrom(...edges) },
    { weight: 1, arbitrary: fc.integer({ min, max }) },
  );
}

function command(form: ApduForm): fc.Arbitrary<CommandApdu> {
  const limit = limits[form];
  return fc.tuple(byte, byte, byte, byte, fc.option(length(1, limit.nc), { nil: undefined }))
    .chain(([cla, ins, p1, p2, nc]) => {
      const ne = fc.option(length(1, nc === undefined ? limit.neWithoutData : limit.ne), {
        nil: undefined,
      });
      const data = nc === undefined
        ? fc.constant(undefined)
        : fc.uint8Array({ minLength: nc, maxLength: nc });
      return fc.tuple(data, ne).map(([d, le]) => ({
        cla,
        ins,
        p1,
        p2,
        ...(d === undefined ? {} : { data: d }),
        ...(le === undefined ? {} : { le }),
      }));
    });
}

const forms: ApduForm[] = ["short", "extended", "auto", "multos"];

for (const form of forms) {
  Deno.test(`command property (${form}): every command the form carries round-trips`, () => {
    fc.assert(
      fc.property(command(form), (c) => {
        const wire = encodeCommand(c, form);
        assert.deepEqual(decodeCommand(wire, form), c);
      }),
      runs,
    );
  });
}

/** Arbitrary bytes, or an encoded command with one byte changed, added or removed. */
const wireish = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(
    fc.constantFrom(...forms).chain((form) => command(form).map((c) => encodeCommand(c, form))),
    fc.nat(),
    byte,
    fc.constantFrom("set", "insert", "delete", "none"),
  ).map(([bytes, where, value, edit]) => {
    const wire = [...bytes];
    const at = where % wire.length;
    if (edit === "set") wire[at] = value;
    if (edit === "insert") wire.splice(at, 0, value);
    if (edit === "delete") wire.splice(at, 1);
    return Uint8Array.from(wire);
  }),
);

Deno.test("command property: decoding any bytes gives back exactly those bytes or ApduError", () => {
  fc.assert(
    fc.property(wireish, (bytes) => {
      for (const form of forms) {
        let decoded: CommandApdu;
        try {
          decoded = decodeCommand(bytes, form);
        } catch (error) {
          assert.ok(error instanceof ApduError, `${form}: not an ApduError: ${error}`);
          assert.equal(error.sw, undefined);
          // Errors name the header only: command data can be a PIN or key material.
          if (bytes.length >= 8) {
            assert.ok(!error.message.toLowerCase().includes(bytes.subarray(4).toHex()));
          }
          continue;
        }
        // `auto` accepts both ISO forms, so the bytes are one of the two encodings.
        const again = form === "auto"
          ? [encodeShortOrNothing(decoded), encodeCommand(decoded, "extended")]
          : [encodeCommand(decoded, form)];
        assert.ok(
          again.some((a) => a !== undefined && a.toHex() === bytes.toHex()),
          `${form}: ${bytes.toHex()} decoded to a command that encodes otherwise`,
        );
      }
    }),
    { ...runs, numRuns: 2000 },
  );
});

function encodeShortOrNothing(c: CommandApdu): Uint8Array | undefined {
  try {
    return encodeCommand(c, "short");
  } catch (error) {
    if (error instanceof ApduError) return undefined;
    throw error;
  }
}

Deno.test("command property: out-of-range fields are refused with ApduError, never encoded", () => {
  const bad = fc.oneof(
    fc.integer({ min: -1000, max: -1 }),
    fc.integer({ min: 256, max: 100000 }),
    fc.constant(0.5),
    fc.constant(Number.NaN),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...forms),
      fc.constantFrom("cla", "ins", "p1", "p2", "le"),
      bad,
      (form, field, value) => {
        fc.pre(field !== "le" || value < 1 || value > 65536 || !Number.isInteger(value));
        const c = { cla: 0x80, ins: 0xca, p1: 0, p2: 0, [field]: value } as CommandApdu;
        assert.throws(() => encodeCommand(c, form), ApduError);
      },
    ),
    runs,
  );
});
