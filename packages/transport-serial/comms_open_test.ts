/**
 * The host puts the chip in a known state instead of assuming one: `CommandModeTransport.open`
 * sends Comms Parameters before anything else, and after a Reset both ends are back at the
 * chip's defaults, with the transport's reset count telling its client the applet is gone.
 */
import assert from "node:assert/strict";
import { CommandModeDevice } from "./command_mode_device.ts";
import { CommandModeTransport } from "./command_mode_transport.ts";
import { createMemoryLinkPair } from "./memory_link.ts";

const ok = () => Uint8Array.fromHex("9000");

Deno.test("open: Comms Parameters is the first message; the chip is then in the mode asked for", async () => {
  const toChip: string[] = [];
  const [host, chipEnd] = createMemoryLinkPair({
    aToB: (chunk) => {
      toChip.push(chunk.toHex());
      return chunk;
    },
  });
  const device = new CommandModeDevice(chipEnd, ok);
  const transport = await CommandModeTransport.open(host, {
    commsParameters: { ackMode: false, baudRate: 57600 },
  });
  try {
    // 44 03, option 1 (no ACKs), 57600 baud as 0x0240 hundreds.
    assert.equal(toChip[0], "4403010240");
    assert.equal(device.ackMode, false);
    assert.equal(transport.ackMode, false);
    assert.equal(host.baudRate, 57600);
    assert.equal((await transport.transmit(Uint8Array.fromHex("808800000002"))).toHex(), "9000");
  } finally {
    await transport.close();
    await device.close();
  }
});

Deno.test("reset: both ends return to the chip's defaults and the reset is counted", async () => {
  const [host, chipEnd] = createMemoryLinkPair();
  let chipResets = 0;
  const device = new CommandModeDevice(chipEnd, ok, {
    onReset: () => chipResets++,
    defaultBaudRate: 115200,
  });
  const transport = await CommandModeTransport.open(host, {
    commsParameters: { ackMode: false, baudRate: 9600 },
  });
  try {
    assert.equal(transport.resets, 0);
    await transport.reset();
    assert.equal(chipResets, 1);
    assert.equal(transport.resets, 1);
    assert.equal(device.ackMode, true, "the chip is back in ACK mode");
    assert.equal(transport.ackMode, true, "and the host expects it");
    assert.equal(host.baudRate, 115200);
    assert.equal(chipEnd.baudRate, 115200);
    assert.equal((await transport.transmit(Uint8Array.fromHex("808800000002"))).toHex(), "9000");
  } finally {
    await transport.close();
    await device.close();
  }
});
