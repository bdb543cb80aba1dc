import assert from "node:assert/strict";
import { CommandModeDevice } from "./command_mode_device.ts";
import { CommandModeTransport } from "./command_mode_transport.ts";
import { openByteLink } from "./open_byte_link.ts";
import { openSerialPort, type SerialPort } from "./serial_port.ts";
import { socatAvailable, spawnPtyPair } from "./testing.ts";

const haveSocat = await socatAvailable();
if (!haveSocat) {
  // deno-lint-ignore no-console -- a skipped test must say why it was skipped
  console.warn("serial_port_test: socat not found on PATH, pty tests skipped (apt install socat)");
}

/** Answers data ⊕ 0x5A ‖ 9000, so an answer can only be right if the APDU was parsed. */
function scramble(apdu: Uint8Array): Uint8Array {
  const lc = apdu.length > 6 ? (apdu[4]! << 8) | apdu[5]! : 0;
  const data = apdu.subarray(6, 6 + lc);
  const out = new Uint8Array(data.length + 2);
  data.forEach((b, i) => (out[i] = b ^ 0x5a));
  out.set([0x90, 0x00], data.length);
  return out;
}

function caseThree(size: number, seed: number): Uint8Array {
  const apdu = new Uint8Array(6 + size);
  apdu.set([0x80, 0x10, seed & 0xff, 0, size >> 8, size & 0xff]);
  let x = seed * 2654435761 >>> 0;
  for (let i = 6; i < apdu.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    apdu[i] = x >>> 24;
  }
  return apdu;
}

/** Sizes 0..2992: every edge (0, 1, 255, 256, 2991, 2992) and a spread in between. */
function sizes(count: number): number[] {
  const edges = [0, 1, 2, 254, 255, 256, 257, 1024, 2047, 2048, 2991, 2992];
  const out = [...edges];
  for (let i = 0; out.length < count; i++) out.push((i * 7919) % 2993);
  return out;
}

async function withPtyChip(
  fn: (host: SerialPort, device: CommandModeDevice, chipPort: SerialPort) => Promise<void>,
): Promise<void> {
  const pair = await spawnPtyPair();
  let host: SerialPort | undefined;
  let device: CommandModeDevice | undefined;
  try {
    host = await openSerialPort(pair.paths[0], { baudRate: 115200 });
    const chipPort = await openSerialPort(pair.paths[1], { baudRate: 115200 });
    // Generous timing: CI machines under load can stall a pty relay; no faults are injected here.
    device = new CommandModeDevice(chipPort, scramble, { interByteTimeoutMs: 2000 });
    await fn(host, device, chipPort);
  } finally {
    await device?.close();
    await host?.close();
    await pair.close();
  }
}

Deno.test({
  name: "pty pair (needs socat): 5000 APDUs of 0..2992 bytes round-trip intact at 115200",
  ignore: !haveSocat,
  fn: () =>
    withPtyChip(async (host, device) => {
      const transport = new CommandModeTransport(host, { timeouts: { standard: 10000 } });
      try {
        const all = sizes(5000);
        for (const [i, size] of all.entries()) {
          const apdu = caseThree(size, i);
          const response = await transport.transmit(apdu);
          assert.deepEqual(response, scramble(apdu), `APDU ${i} of ${size} bytes`);
        }
        assert.equal(device.commandsHandled, all.length);
      } finally {
        await transport.close();
      }
    }),
});

Deno.test({
  name: "pty pair (needs socat): Comms Parameters moves both ports to 921600, no ACKs",
  ignore: !haveSocat,
  fn: () =>
    withPtyChip(async (host, device, chipPort) => {
      const transport = new CommandModeTransport(host, { timeouts: { standard: 10000 } });
      try {
        await transport.setCommsParameters({ ackMode: false, baudRate: 921600 });
        assert.equal(host.baudRate, 921600);
        assert.equal(transport.ackMode, false);
        const apdu = caseThree(300, 1);
        assert.deepEqual(await transport.transmit(apdu), scramble(apdu));
        // The chip switches after sending its ACK; it has by the time it answers the next APDU.
        assert.equal(chipPort.baudRate, 921600);
        assert.equal(device.ackMode, false);
        await transport.reset();
        assert.deepEqual(await transport.transmit(apdu), scramble(apdu));
      } finally {
        await transport.close();
      }
    }),
});

Deno.test({
  name: "pty pair (needs socat): openByteLink opens a device path; stty configures too",
  ignore: !haveSocat,
  fn: async () => {
    const pair = await spawnPtyPair();
    try {
      const a = await openByteLink(pair.paths[0], { baudRate: 9600 });
      const b = await openSerialPort(pair.paths[1], { baudRate: 9600, termios: "stty" });
      try {
        assert.equal(b.termios, "stty");
        const writer = a.writable.getWriter();
        await writer.write(Uint8Array.fromHex("0102030405"));
        writer.releaseLock();
        const reader = b.readable.getReader();
        const got: number[] = [];
        while (got.length < 5) {
          const { value } = await reader.read();
          got.push(...value!);
        }
        reader.releaseLock();
        assert.deepEqual(got, [1, 2, 3, 4, 5]);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await pair.close();
    }
  },
});

Deno.test("openSerialPort refuses a non-standard baud rate before touching the device", async () => {
  await assert.rejects(openSerialPort("/dev/null", { baudRate: 12345 }), RangeError);
});
