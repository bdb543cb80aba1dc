import assert from "node:assert/strict";
import { parseLinkUrl } from "./link_address.ts";

Deno.test("link addresses: tcp, IPv6 in brackets, device paths", () => {
  assert.deepEqual(parseLinkUrl("tcp:127.0.0.1:3333"), {
    kind: "tcp",
    hostname: "127.0.0.1",
    port: 3333,
  });
  assert.deepEqual(parseLinkUrl("tcp:bridge.local:2001"), {
    kind: "tcp",
    hostname: "bridge.local",
    port: 2001,
  });
  assert.deepEqual(parseLinkUrl("tcp:[::1]:65535"), { kind: "tcp", hostname: "::1", port: 65535 });
  assert.deepEqual(parseLinkUrl("/dev/ttyUSB0"), { kind: "serial", path: "/dev/ttyUSB0" });
  assert.deepEqual(parseLinkUrl("serial:/dev/pts/4"), { kind: "serial", path: "/dev/pts/4" });
});

Deno.test("link addresses: malformed ones are refused", () => {
  for (
    const bad of ["tcp:", "tcp:host", "tcp:host:0", "tcp:host:65536", "tcp::1:80", "", "serial:"]
  ) {
    assert.throws(() => parseLinkUrl(bad), RangeError, bad);
  }
});
