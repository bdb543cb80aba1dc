import assert from "node:assert/strict";
import { CommandModeDevice } from "./command_mode_device.ts";
import { CommandModeTransport } from "./command_mode_transport.ts";
import { LinkError } from "./link_error.ts";
import { createMemoryLinkPair } from "./memory_link.ts";

function echo(apdu: Uint8Array): Uint8Array {
  const out = new Uint8Array(apdu.length + 2);
  out.set(apdu);
  out.set([0x90, 0x00], apdu.length);
  return out;
}

Deno.test("transport: wire bytes of one exchange in ACK mode", async () => {
  const seenByChip: string[] = [];
  const seenByHost: string[] = [];
  const [host, chip] = createMemoryLinkPair({
    aToB: (c) => (seenByChip.push(c.toHex()), c),
    bToA: (c) => (seenByHost.push(c.toHex()), c),
  });
  const device = new CommandModeDevice(chip, () => Uint8Array.fromHex("01029000"));
  const transport = new CommandModeTransport(host);
  try {
    const r = await transport.transmit(Uint8Array.fromHex("808800000002"));
    assert.equal(r.toHex(), "01029000");
    assert.deepEqual(seenByChip, ["800006808800000002"]);
    assert.deepEqual(seenByHost, ["01", "80000401029000"]);
  } finally {
    await transport.close();
    await device.close();
  }
});

Deno.test("transport: concurrent calls queue and each gets its own answer", async () => {
  const [host, chip] = createMemoryLinkPair();
  const device = new CommandModeDevice(chip, async (apdu) => {
    await new Promise((r) => setTimeout(r, apdu[2]! % 3));
    return echo(apdu);
  });
  const transport = new CommandModeTransport(host);
  try {
    const apdus = Array.from({ length: 50 }, (_, i) => new Uint8Array([0x80, 0x10, i, 0]));
    const answers = await Promise.all(apdus.map((a) => transport.transmit(a)));
    answers.forEach((r, i) => assert.deepEqual(r, echo(apdus[i]!)));
  } finally {
    await transport.close();
    await device.close();
  }
});

Deno.test("transport: closed transport refuses commands with LinkError closed", async () => {
  const [host, chip] = createMemoryLinkPair();
  const device = new CommandModeDevice(chip, echo);
  const transport = new CommandModeTransport(host);
  await transport.close();
  await assert.rejects(
    transport.transmit(new Uint8Array(4)),
    (e) => e instanceof LinkError && e.kind === "closed",
  );
  await device.close();
});
