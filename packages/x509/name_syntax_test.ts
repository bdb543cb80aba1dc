import assert from "node:assert/strict";
import type { GeneralName } from "./general_name.ts";
import { nameSyntaxOk } from "./name_syntax.ts";

const dns = (value: string): GeneralName => ({ type: "dns", value });
const email = (value: string): GeneralName => ({ type: "email", value });

Deno.test("name syntax: dNSNames in the preferred name syntax, wildcards only as the whole leftmost label", () => {
  for (
    const ok of ["example.com", "a-b.example.com", "WWW.Example.COM", "*.example.com", "x1.y2.z"]
  ) {
    assert.equal(nameSyntaxOk(dns(ok)), true, ok);
  }
  for (
    const bad of [
      "",
      ".example.com",
      "example.com.",
      "foo_bar.example.com",
      "a..example.com",
      "-a.example.com",
      "a-.example.com",
      "*.com",
      "foo.*.example.com",
      "f*.example.com",
      "*",
      "127.0.0.1",
      "a.b.123",
      `${"a".repeat(64)}.example.com`,
      `${"a.".repeat(127)}com`,
      "exa mple.com",
    ]
  ) {
    assert.equal(nameSyntaxOk(dns(bad)), false, bad);
  }
});

Deno.test("name syntax: rfc822Names have one @ between a local part and a domain", () => {
  assert.equal(nameSyntaxOk(email("device@example.com")), true);
  for (
    const bad of [
      "a@b@example.com",
      "@example.com",
      "device@",
      "device",
      "a@*.example.com",
      "a@.example.com",
    ]
  ) {
    assert.equal(nameSyntaxOk(email(bad)), false, bad);
  }
  // Forms without a syntax rule here pass.
  assert.equal(nameSyntaxOk({ type: "uri", value: "urn:anchortls:device:test" }), true);
  assert.equal(nameSyntaxOk({ type: "ip", value: Uint8Array.of(127, 0, 0, 1) }), true);
});
