import assert from "node:assert/strict";
import { CommandModeDevice } from "./command_mode_device.ts";
import { createMemoryLinkPair, type MemoryLink } from "./memory_link.ts";

/** Drives the device with raw bytes and collects what it sends back. */
class RawHost {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #got = "";

  constructor(link: MemoryLink) {
    this.#writer = link.writable.getWriter();
    this.#reader = link.readable.getReader();
  }

  async send(hex: string): Promise<void> {
    await this.#writer.write(Uint8Array.fromHex(hex));
  }

  /** Reads until `hexLength` hex digits have arrived. */
  async expect(hex: string): Promise<void> {
    while (this.#got.length < hex.length) {
      const { value, done } = await this.#reader.read();
      if (done) break;
      this.#got += value.toHex();
    }
    assert.equal(this.#got.slice(0, hex.length), hex);
    this.#got = this.#got.slice(hex.length);
  }

  release(): void {
    this.#writer.releaseLock();
    this.#reader.releaseLock();
  }
}

async function withDevice(
  handler: (apdu: Uint8Array) => Promise<Uint8Array> | Uint8Array,
  fn: (host: RawHost, device: CommandModeDevice, chipEnd: MemoryLink) => Promise<void>,
  onReset?: () => void,
): Promise<void> {
  const [hostEnd, chipEnd] = createMemoryLinkPair();
  const device = new CommandModeDevice(chipEnd, handler, {
    interByteTimeoutMs: 10,
    ...(onReset ? { onReset } : {}),
  });
  const host = new RawHost(hostEnd);
  try {
    await fn(host, device, chipEnd);
  } finally {
    host.release();
    await device.close();
    await hostEnd.close();
  }
}

Deno.test("device: ACK, then the response under tag 80 with a 2-byte length", async () => {
  await withDevice(() => Uint8Array.fromHex("0102039000"), async (host, device) => {
    await host.send("800004" + "80880000");
    await host.expect("01" + "8000050102039000");
    assert.equal(device.commandsHandled, 1);
  });
});

Deno.test("device: a handler that throws answers 6F00", async () => {
  await withDevice(() => {
    throw new Error("applet crashed");
  }, async (host) => {
    await host.send("80000480880000");
    await host.expect("01" + "8000026f00");
  });
});

Deno.test("device: malformed, unknown, torn or busy messages are NACKed", async () => {
  let release: () => void = () => {};
  const slow = new Promise<void>((r) => (release = r));
  await withDevice(async (apdu) => {
    if (apdu[1] === 0xee) await slow;
    return Uint8Array.fromHex("9000");
  }, async (host) => {
    await host.send("44020204"); // Comms Parameters with 2 bytes instead of 3
    await host.expect("3f");
    await host.send("4403090480"); // option 9
    await host.expect("3f");
    await host.send("02"); // unknown 1-byte tag
    await host.expect("3f");
    await host.send("c0010000"); // long-tag frame
    await host.expect("3f");
    await host.send("80ffff"); // announces more than 3000 bytes
    await host.expect("3f");
    await host.send("800005808800"); // torn: two bytes missing, then silence
    await host.expect("3f");
    await host.send("80000480ee0000"); // held by the handler
    await host.expect("01");
    await host.send("80000480880000"); // arrives while busy
    await host.expect("3f");
    release();
    await host.expect("8000029000");
  });
});

Deno.test("device: Reset abandons the answer in progress and is ACKed", async () => {
  let release: () => void = () => {};
  const slow = new Promise<void>((r) => (release = r));
  let resets = 0;
  await withDevice(
    async (apdu) => {
      if (apdu[1] === 0xee) await slow;
      return Uint8Array.of(apdu[1]!, 0x90, 0x00);
    },
    async (host) => {
      await host.send("80000480ee0000");
      await host.expect("01");
      await host.send("06");
      await host.expect("01");
      assert.equal(resets, 1);
      release();
      await host.send("80000480880000");
      // Only the new answer: the abandoned EE answer never appears.
      await host.expect("01" + "800003889000");
    },
    () => resets++,
  );
});

Deno.test("device: Comms Parameters is ACKed, then speed and ACK mode change", async () => {
  await withDevice(() => Uint8Array.fromHex("9000"), async (host, device, chipEnd) => {
    await host.send("4403011200"); // no ACKs, 0x1200 = 4608 → 460800 baud
    await host.expect("01");
    await host.send("80000480880000");
    await host.expect("8000029000");
    assert.equal(chipEnd.baudRate, 460800);
    assert.equal(device.ackMode, false);
    await host.send("06"); // no ACK to a Reset without ACK mode
    await host.send("4403020480");
    await host.expect("01");
    await host.send("80000480880000");
    await host.expect("01" + "8000029000");
    assert.equal(device.ackMode, true);
    assert.equal(chipEnd.baudRate, 115200);
  });
});

Deno.test("device: a response tag outside 0x40–0xBF is refused", () => {
  const [a, b] = createMemoryLinkPair();
  assert.throws(() => new CommandModeDevice(b, () => new Uint8Array(2), { responseTag: 0x3f }));
  void a.close();
  void b.close();
});
