import assert from "node:assert/strict";
import { DerReader } from "./der.ts";
import { type Attribute, DistinguishedName, readName } from "./name.ts";

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function attr(type: string, value: string): Attribute {
  const bytes = utf8(value);
  return { type, value, rawValue: Uint8Array.of(0x0c, bytes.length, ...bytes) };
}

Deno.test("name: RFC 4514 output escapes and orders RDNs last-first", () => {
  const name = new DistinguishedName(new Uint8Array(0), [
    [attr("2.5.4.6", "DE")],
    [attr("2.5.4.10", "Acme, Inc.")],
    [attr("2.5.4.11", "#ops"), attr("2.5.4.3", " spaced ")],
    [attr("0.9.2342.19200300.100.1.25", 'a+b;c<d>e"f\\g')],
    [{ type: "1.2.3.4", value: undefined, rawValue: Uint8Array.of(0x04, 0x02, 0xab, 0xcd) }],
  ]);
  assert.equal(
    name.toString(),
    '1.2.3.4=#0402abcd,DC=a\\+b\\;c\\<d\\>e\\"f\\\\g,OU=\\#ops+CN=\\ spaced\\ ,O=Acme\\, Inc.,C=DE',
  );
  assert.equal(name.commonName, " spaced ");
  assert.deepEqual(name.values("2.5.4.10"), ["Acme, Inc."]);
});

Deno.test("name: comparison folds case and spaces, and DER equality always matches", () => {
  const a = new DistinguishedName(Uint8Array.of(1), [[attr("2.5.4.3", "Example  CA")]]);
  const b = new DistinguishedName(Uint8Array.of(2), [[attr("2.5.4.3", " example ca")]]);
  const c = new DistinguishedName(Uint8Array.of(3), [[attr("2.5.4.10", "example ca")]]);
  assert.equal(a.equals(b), true);
  assert.equal(a.equals(c), false);
  assert.equal(c.equals(new DistinguishedName(Uint8Array.of(3), [])), true);
});

Deno.test("name: decodes string types and refuses empty RDNs and bad strings", () => {
  // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, PrintableString "ab" } } }
  const good = Uint8Array.fromHex("300d310b300906035504031302" + "6162");
  assert.equal(readName(new DerReader(good)).toString(), "CN=ab");
  const bmpName = Uint8Array.fromHex("300f310d300b06035504031e0400e90041");
  assert.equal(readName(new DerReader(bmpName)).toString(), "CN=éA");
  for (
    const hex of [
      "30023100", // empty RDN
      "300d310b300906035504031302" + "61" + "2a", // '*' is not printable
      "300d310b300906035504030c02" + "c328", // invalid UTF-8
      "300d310b300906035504031602" + "61" + "80", // IA5 above 0x7f
    ]
  ) {
    assert.throws(() => readName(new DerReader(Uint8Array.fromHex(hex))), hex);
  }
});
