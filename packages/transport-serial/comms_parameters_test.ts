/**
 * Comms Parameters on the device side when the port cannot take the requested speed: the
 * device must keep serving at its old settings (as the host's transport does when its own
 * port refuses the rate), never stop.
 */
import assert from "node:assert/strict";
import type { ByteLink } from "./byte_link.ts";
import { CommandModeDevice } from "./command_mode_device.ts";
import { createMemoryLinkPair } from "./memory_link.ts";

/** The chip's end of an in-memory pair, behind a port that only runs at 9600 and 115200. */
function pickyPort(link: ByteLink, rates: number[]): ByteLink {
  return {
    readable: link.readable,
    writable: link.writable,
    close: () => link.close(),
    setBaudRate: (rate: number) => {
      if (rate !== 9600 && rate !== 115200) {
        return Promise.reject(new RangeError(`baud rate ${rate} not supported`));
      }
      rates.push(rate);
      return Promise.resolve();
    },
  };
}

Deno.test("device: a speed the port refuses keeps the old settings and the device serving", async () => {
  const [host, chipEnd] = createMemoryLinkPair();
  const rates: number[] = [];
  const device = new CommandModeDevice(pickyPort(chipEnd, rates), () => Uint8Array.fromHex("9000"));
  const writer = host.writable.getWriter();
  const reader = host.readable.getReader();
  let got = "";
  const expect = async (hex: string) => {
    while (got.length < hex.length) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.toHex();
    }
    assert.equal(got.slice(0, hex.length), hex);
    got = got.slice(hex.length);
  };
  try {
    // 100 baud (field 0001), ACKs off: ACKed at the old speed, then the port refuses it.
    await writer.write(Uint8Array.fromHex("4403010001"));
    await expect("01");
    // Still in ACK mode at the old speed: the command is ACKed and answered.
    await writer.write(Uint8Array.fromHex("80000480880000"));
    await expect("01" + "8000029000");
    // Field 0000 (0 baud) is refused the same way.
    await writer.write(Uint8Array.fromHex("4403010000"));
    await expect("01");
    // A speed the port takes applies, with the new ACK mode.
    await writer.write(Uint8Array.fromHex("4403010480"));
    await expect("01");
    await writer.write(Uint8Array.fromHex("80000480880000"));
    await expect("8000029000");
    assert.deepEqual(rates, [115200]);
  } finally {
    writer.releaseLock();
    reader.releaseLock();
    await device.close();
    await host.close();
  }
});
