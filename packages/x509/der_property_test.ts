/**
 * Property tests of the DER reader: trees of elements encoded by a small reference encoder in
 * this file read back element for element, INTEGERs and OIDs round-trip through their typed
 * readers, every non-minimal length is refused, and any bytes at all (random or a valid tree
 * with one byte bent) are walked completely or refused with a `DerError` whose offset lies in
 * the input.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeOid, DerError, DerReader, TagClass, UniversalTag } from "./der.ts";

const runs = { seed: 0xde5, numRuns: 300 };

/** An element: its tag and either raw contents or children. */
type Tree = {
  tagClass: number;
  tagNumber: number;
  contents: Uint8Array | Tree[];
};

function encodeLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function encodeTag(tagClass: number, constructed: boolean, tagNumber: number): number[] {
  const head = (tagClass << 6) | (constructed ? 0x20 : 0);
  if (tagNumber < 0x1f) return [head | tagNumber];
  const septets: number[] = [];
  for (let v = tagNumber; v > 0; v >>>= 7) septets.unshift(v & 0x7f);
  return [head | 0x1f, ...septets.map((s, i) => (i < septets.length - 1 ? s | 0x80 : s))];
}

function encode(tree: Tree): Uint8Array {
  const constructed = Array.isArray(tree.contents);
  const contents = Array.isArray(tree.contents)
    ? tree.contents.flatMap((child) => [...encode(child)])
    : [...tree.contents];
  return Uint8Array.from([
    ...encodeTag(tree.tagClass, constructed, tree.tagNumber),
    ...encodeLength(contents.length),
    ...contents,
  ]);
}

/** Reads a level back into trees. */
function decode(reader: DerReader): Tree[] {
  const out: Tree[] = [];
  while (!reader.atEnd) {
    const el = reader.read();
    out.push({
      tagClass: el.tagClass,
      tagNumber: el.tagNumber,
      contents: el.constructed ? decode(reader.enter(el)) : el.contents.slice(),
    });
  }
  return out;
}

const tagNumber = fc.oneof(
  fc.integer({ min: 0, max: 30 }),
  fc.integer({ min: 31, max: 2 ** 21 - 1 }),
);
const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.record({
    tagClass: fc.integer({ min: 0, max: 3 }),
    tagNumber,
    contents: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.oneof(
        { weight: 9, arbitrary: fc.uint8Array({ maxLength: 40 }) },
        // Long enough for two- and three-byte length forms.
        {
          weight: 1,
          arbitrary: fc.constantFrom(128, 255, 256, 65_536).map((n) => new Uint8Array(n)),
        },
      ),
      fc.array(tie("tree"), { maxLength: 4 }),
    ),
  }, { noNullPrototype: true }),
})).tree;

/** A valid tree with one byte set, inserted or removed, or random bytes. */
const derish = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.tuple(
    tree.map(encode).filter((b) => b.length < 5000),
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom("set", "insert", "delete"),
  ).map(([wire, where, byte, edit]) => {
    const bytes = [...wire];
    const at = where % bytes.length;
    if (edit === "set") bytes[at] = byte;
    if (edit === "insert") bytes.splice(at, 0, byte);
    if (edit === "delete") bytes.splice(at, 1);
    return Uint8Array.from(bytes);
  }),
);

function assertDerError(error: unknown, input: Uint8Array): void {
  assert.ok(error instanceof DerError, `not a DerError: ${error}`);
  assert.ok(error.offset >= 0 && error.offset <= input.length, `offset ${error.offset}`);
}

Deno.test("DER property: encoded trees read back element for element", () => {
  fc.assert(
    fc.property(fc.array(tree, { maxLength: 3 }), (trees) => {
      const bytes = Uint8Array.from(trees.flatMap((t) => [...encode(t)]));
      assert.deepEqual(decode(new DerReader(bytes)), trees);
    }),
    { ...runs, numRuns: 200 },
  );
});

Deno.test("DER property: any bytes are walked whole or refused with a DerError", () => {
  fc.assert(
    fc.property(derish, (bytes) => {
      try {
        const trees = decode(new DerReader(bytes));
        // What was accepted is DER: it re-encodes to exactly the input.
        assert.deepEqual(Uint8Array.from(trees.flatMap((t) => [...encode(t)])), bytes);
      } catch (error) {
        assertDerError(error, bytes);
      }
    }),
    runs,
  );
});

Deno.test("DER property: a length in a longer form than needed is refused", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 3 }), (n, pad) => {
      const minimal = encodeLength(n);
      const lengthBytes = minimal.length === 1 ? [n] : minimal.slice(1);
      // Same value with `pad` extra leading zero bytes, or long form for a short length.
      const bent = [0x80 | (lengthBytes.length + pad), ...new Array(pad).fill(0), ...lengthBytes];
      const bytes = Uint8Array.from([0x04, ...bent, ...new Uint8Array(n)]);
      assert.throws(() => new DerReader(bytes).read(), (e) => {
        assertDerError(e, bytes);
        return /non-minimal|too large/.test((e as Error).message);
      });
    }),
    runs,
  );
});

/** Minimal two's-complement contents of a non-negative integer. */
function integerContents(value: bigint): number[] {
  const bytes: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return bytes;
}

Deno.test("DER property: non-negative INTEGERs round-trip; padded ones are refused", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 4096n }), (value) => {
      const contents = integerContents(value);
      const bytes = Uint8Array.from([0x02, ...encodeLength(contents.length), ...contents]);
      assert.equal(new DerReader(bytes).readUnsignedBigInt(), value);
      if (value < 2n ** 31n) assert.equal(new DerReader(bytes).readSmallInteger(), Number(value));
      else assert.throws(() => new DerReader(bytes).readSmallInteger(), DerError);
      const padded = [0, ...contents];
      const bent = Uint8Array.from([0x02, ...encodeLength(padded.length), ...padded]);
      assert.throws(() => new DerReader(bent).readUnsignedBigInt(), DerError);
    }),
    runs,
  );
});

Deno.test("DER property: OIDs round-trip through their base-128 arcs", () => {
  const arcs = fc.tuple(
    fc.integer({ min: 0, max: 2 }),
    fc.integer({ min: 0, max: 39 }),
    fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 8 }),
  );
  fc.assert(
    fc.property(arcs, ([a, b, rest]) => {
      const contents = [a * 40 + b, ...rest].flatMap((arc) => {
        const septets: number[] = [];
        for (let v = arc; v > 0 || septets.length === 0; v = Math.floor(v / 128)) {
          septets.unshift(v % 128);
        }
        return septets.map((s, i) => (i < septets.length - 1 ? s | 0x80 : s));
      });
      const bytes = Uint8Array.from([0x06, ...encodeLength(contents.length), ...contents]);
      const expected = [a, b, ...rest].join(".");
      assert.equal(new DerReader(bytes).readOid(), expected);
      assert.equal(decodeOid(new DerReader(bytes).read()), expected);
    }),
    runs,
  );
});

Deno.test("DER property: typed readers on any element return or throw DerError", () => {
  const readers: ((r: DerReader) => unknown)[] = [
    (r) => r.readBoolean(),
    (r) => r.readNull(),
    (r) => r.readUnsignedBigInt(),
    (r) => r.readSmallInteger(),
    (r) => r.readBitString(),
    (r) => r.readOctetString(),
    (r) => r.readOid(),
    (r) => r.readTime(),
    (r) => r.readSequence(),
    (r) => r.readSet(),
    (r) => r.readExplicit(0),
  ];
  const primitive = fc.tuple(
    fc.constantFrom(...Object.values(UniversalTag)),
    fc.uint8Array({ maxLength: 20 }),
  ).map(([tag, contents]) => encode({ tagClass: TagClass.universal, tagNumber: tag, contents }));
  fc.assert(
    fc.property(fc.oneof(primitive, derish), fc.nat(readers.length - 1), (bytes, pick) => {
      try {
        readers[pick]!(new DerReader(bytes));
      } catch (error) {
        assertDerError(error, bytes);
      }
    }),
    runs,
  );
});
