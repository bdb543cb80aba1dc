/**
 * Property tests of AES-CBC + HMAC record protection: every suite in both modes opens what it
 * sealed, for any content, type, version and sequence number; any fragment at all (random,
 * cut, grown, or a sealed one with a bit flipped) is refused only with `bad_record_mac` (or
 * `decode_error`), never another error; and the WebCrypto protector agrees with the
 * synchronous one on every fragment.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { AlertDescription, TlsAlertError } from "./alert.ts";
import { CbcHmacProtector } from "./cbc_hmac.ts";
import { type CbcCipherSuite, CipherSuites } from "./cipher_suite.ts";
import type { RecordContext } from "./protector.ts";

const runs = { seed: 0xcbc, numRuns: 200 };

const keyed = fc.tuple(
  fc.constantFrom(
    ...Object.values(CipherSuites).filter((s): s is CbcCipherSuite => s.kind === "cbc"),
  ),
  fc.boolean(),
  fc.uint8Array({ minLength: 64, maxLength: 64 }),
).map(([suite, encryptThenMac, keyBytes]) => ({
  suite,
  encryptThenMac,
  encKey: keyBytes.slice(0, suite.encKeyLength),
  macKey: keyBytes.slice(64 - suite.macKeyLength),
}));

const context: fc.Arbitrary<RecordContext> = fc.record({
  type: fc.integer({ min: 20, max: 23 }),
  version: fc.constantFrom(0x0303, 0xfefd),
  sequence: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
}, { noNullPrototype: true });

const plaintext = fc.oneof(
  { weight: 9, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(1 << 14).fill(7)) },
);

/** A sealed fragment bent one way or another, or random bytes of a plausible length. */
const hostileFragment = (sealed: Uint8Array) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.nat().map((n) => sealed.subarray(0, n % (sealed.length + 1))),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => {
      const bent = sealed.slice();
      bent[at % bent.length]! ^= 1 << bit;
      return bent;
    }),
    fc.uint8Array({ minLength: 1, maxLength: 32 }).map((extra) =>
      Uint8Array.of(...sealed, ...extra)
    ),
  );

function assertRefusal(error: unknown): void {
  assert.ok(error instanceof TlsAlertError, `not a TlsAlertError: ${error}`);
  assert.ok(
    error.description === AlertDescription.bad_record_mac ||
      error.description === AlertDescription.decode_error,
    `alert ${error.description}`,
  );
}

/** The layout on the noble engine, whose answers are synchronous. */
function protector(keys: {
  suite: CbcCipherSuite;
  encryptThenMac: boolean;
  encKey: Uint8Array;
  macKey: Uint8Array;
}): {
  maxExpansion: number;
  seal(context: RecordContext, plaintext: Uint8Array): Uint8Array;
  open(context: RecordContext, fragment: Uint8Array): Uint8Array;
} {
  const p = new CbcHmacProtector({ ...keys, engine: "noble" });
  const sync = (value: Uint8Array | Promise<Uint8Array>): Uint8Array => {
    if (value instanceof Promise) throw new TypeError("the noble engine answered asynchronously");
    return value;
  };
  return {
    maxExpansion: p.maxExpansion,
    seal: (context, plaintext) => sync(p.seal(context, plaintext)),
    open: (context, fragment) => sync(p.open(context, fragment)),
  };
}

Deno.test("CBC-HMAC property: open(seal(x)) is x for every suite and mode", () => {
  fc.assert(
    fc.property(keyed, context, plaintext, (keys, ctx, content) => {
      const sealed = protector(keys).seal(ctx, content);
      assert.ok(sealed.length <= content.length + protector(keys).maxExpansion);
      assert.equal(sealed.length % 16, keys.encryptThenMac ? keys.suite.macLength % 16 : 0);
      assert.deepEqual(protector(keys).open(ctx, sealed), content);
    }),
    runs,
  );
});

Deno.test("CBC-HMAC property: a record opens only under its own type, version and sequence", () => {
  fc.assert(
    fc.property(keyed, context, context, fc.uint8Array({ maxLength: 64 }), (keys, a, b, x) => {
      fc.pre(a.type !== b.type || a.version !== b.version || a.sequence !== b.sequence);
      const sealed = protector(keys).seal(a, x);
      assert.throws(() => protector(keys).open(b, sealed), (e) => {
        assertRefusal(e);
        return true;
      });
    }),
    runs,
  );
});

Deno.test("CBC-HMAC property: any bent fragment is refused with bad_record_mac only", () => {
  fc.assert(
    fc.property(
      keyed.chain((keys) =>
        fc.tuple(fc.constant(keys), context, fc.uint8Array({ maxLength: 100 })).chain(
          ([keys, ctx, content]) => {
            const sealed = protector(keys).seal(ctx, content);
            return fc.tuple(
              fc.constant(keys),
              fc.constant(ctx),
              fc.constant(sealed),
              hostileFragment(sealed),
            );
          },
        )
      ),
      ([keys, ctx, sealed, fragment]) => {
        try {
          protector(keys).open(ctx, fragment);
          // Only the untouched record opens: bent, cut or grown, it never does.
          assert.deepEqual(fragment, sealed);
        } catch (error) {
          assertRefusal(error);
        }
      },
    ),
    runs,
  );
});

Deno.test("CBC-HMAC property: the WebCrypto and node engines agree with noble on any fragment", async () => {
  await fc.assert(
    fc.asyncProperty(
      keyed,
      context,
      fc.uint8Array({ maxLength: 100 }),
      fc.nat(),
      fc.integer({ min: 0, max: 3 }),
      async (keys, ctx, content, at, how) => {
        const sync = protector(keys);
        const web = new CbcHmacProtector({ ...keys, engine: "webcrypto" });
        const node = new CbcHmacProtector({ ...keys, engine: "node" });
        let fragment = sync.seal(ctx, content);
        if (how === 1) fragment[at % fragment.length]! ^= 0x80;
        if (how === 2) fragment = fragment.subarray(0, at % fragment.length);
        if (how === 3) fragment = Uint8Array.of(...fragment, at & 0xff);
        const outcome = async (open: () => Uint8Array | Promise<Uint8Array>) => {
          try {
            return (await open()).toHex();
          } catch (error) {
            assertRefusal(error);
            return `alert ${(error as TlsAlertError).description}`;
          }
        };
        const expected = await outcome(() => sync.open(ctx, fragment));
        assert.equal(await outcome(() => web.open(ctx, fragment)), expected);
        assert.equal(await outcome(() => node.open(ctx, fragment)), expected);
        if (how === 0) assert.equal(await outcome(() => web.open(ctx, fragment)), content.toHex());
      },
    ),
    { ...runs, numRuns: 100 },
  );
});
