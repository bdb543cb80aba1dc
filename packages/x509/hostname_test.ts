import assert from "node:assert/strict";
import { hostnameMatches, namesCoverHost, parseIpAddress } from "./hostname.ts";

Deno.test("hostname: exact names match case-insensitively, one trailing dot ignored", () => {
  const table: [string, string, boolean][] = [
    ["localhost", "localhost", true],
    ["LocalHost", "localhost", true],
    ["example.com", "EXAMPLE.COM.", true],
    ["example.com.", "example.com", true],
    ["example.com", "www.example.com", false],
    ["www.example.com", "example.com", false],
    ["example.com", "example.com..", false],
    ["", "", false],
    ["a..b", "a..b", false],
    ["xn--bcher-kva.example", "bücher.example", true], // U-labels compare as A-labels
    ["xn--bcher-kva.example", "BÜCHER.example", true],
    ["*.xn--bcher-kva.example", "www.bücher.example", true],
    ["bücher.example", "bücher.example", true],
    ["xn--bcher-kva.example", "bucher.example", false],
    ["localhost", "local host", false],
  ];
  for (const [pattern, host, want] of table) {
    assert.equal(hostnameMatches(pattern, host), want, `${pattern} vs ${host}`);
  }
});

Deno.test("hostname: wildcard rules (RFC 6125 §6.4.3 and the public-suffix stand-in)", () => {
  const table: [string, string, boolean][] = [
    ["*.example.com", "www.example.com", true],
    ["*.example.com", "WWW.Example.com", true],
    ["*.example.com", "example.com", false], // needs exactly one label
    ["*.example.com", "a.b.example.com", false], // never across dots
    ["*.example.com", ".example.com", false],
    ["*.example.co.uk", "www.example.co.uk", true],
    ["w*.example.com", "www.example.com", false], // partial-label wildcards refused
    ["*w.example.com", "www.example.com", false],
    ["www.*.com", "www.example.com", false],
    ["*.*.example.com", "a.b.example.com", false],
    ["*.com", "example.com", false], // one label after the wildcard
    ["*", "localhost", false],
    ["*.localhost", "a.localhost", false],
    ["*.co.uk", "example.co.uk", false], // public-suffix look-alikes
    ["*.com.au", "example.com.au", false],
    ["*.ac.jp", "example.ac.jp", false],
    ["*.example.uk", "www.example.uk", true],
    ["*.example.com", "*.example.com", false], // a wildcard host is never a reference id
  ];
  for (const [pattern, host, want] of table) {
    assert.equal(hostnameMatches(pattern, host), want, `${pattern} vs ${host}`);
  }
});

Deno.test("hostname: IP address parsing is strict", () => {
  assert.deepEqual(parseIpAddress("127.0.0.1"), Uint8Array.of(127, 0, 0, 1));
  assert.deepEqual(parseIpAddress("0.0.0.0"), new Uint8Array(4));
  assert.deepEqual(parseIpAddress("::1"), Uint8Array.of(...new Array(15).fill(0), 1));
  assert.deepEqual(parseIpAddress("[::1]"), parseIpAddress("::1"));
  assert.deepEqual(parseIpAddress("::"), new Uint8Array(16));
  assert.deepEqual(
    parseIpAddress("2001:db8::ff00:42:8329"),
    Uint8Array.fromHex("20010db8000000000000ff0000428329"),
  );
  assert.deepEqual(
    parseIpAddress("::ffff:192.0.2.1"),
    Uint8Array.fromHex("00000000000000000000ffffc0000201"),
  );
  assert.deepEqual(
    parseIpAddress("1:2:3:4:5:6:7:8"),
    Uint8Array.fromHex("00010002000300040005000600070008"),
  );
  for (
    const bad of [
      "localhost",
      "127.0.0",
      "127.0.0.1.1",
      "127.0.0.256",
      "127.0.0.01",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1::2::3",
      "1:2:3:4:5:6:7::8",
      "::12345",
      "fe80::1%eth0",
      "::1.2.3",
      "",
    ]
  ) {
    assert.equal(parseIpAddress(bad), undefined, bad);
  }
});

Deno.test("hostname: DNS names match dNSName entries, IPs only iPAddress entries", () => {
  const names = [
    { type: "dns", value: "localhost" },
    { type: "dns", value: "127.0.0.2" },
    { type: "ip", value: Uint8Array.of(127, 0, 0, 1) },
  ] as const;
  assert.equal(namesCoverHost(names, "localhost"), true);
  assert.equal(namesCoverHost(names, Uint8Array.of(127, 0, 0, 1)), true);
  assert.equal(namesCoverHost(names, Uint8Array.of(127, 0, 0, 2)), false);
  assert.equal(namesCoverHost(names, parseIpAddress("::ffff:127.0.0.1")!), false);
  assert.equal(namesCoverHost(undefined, "localhost"), false);
});
