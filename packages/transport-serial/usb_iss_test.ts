/**
 * The USB-ISS I2C tunnel against an in-memory emulation of the adapter and the chip's
 * command-mode registers, written here from the register rules.
 */
import assert from "node:assert/strict";
import type { ByteLink } from "./byte_link.ts";
import { LinkError, type LinkErrorKind } from "./link_error.ts";
import { createMemoryLinkPair, type LinkTap } from "./memory_link.ts";
import { UsbIssI2cTransport, usbIssRead, usbIssWrite } from "./usb_iss.ts";

interface EmulatorOptions {
  address?: number;
  /** How long the chip stretches the clock on the response-tag read (its processing time). */
  stretchMs?: number;
  /** Tag the chip answers with. */
  responseTag?: number;
}

/** A USB-ISS adapter with a MULTOS chip behind it. */
class UsbIssChip {
  readonly violations: string[] = [];
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #handler: (apdu: Uint8Array) => Uint8Array;
  readonly #address: number;
  readonly #served: Promise<void>;
  readonly options: EmulatorOptions;
  #bytes = new Uint8Array(0);
  #readChunk = 0;
  #message: { tag: number; length: number; value: number[] } | undefined;
  #response: { tag: number; value: Uint8Array; offset: number } | undefined;
  #stage: "idle" | "tag" | "length" | "value" = "idle";
  commands = 0;
  resets = 0;
  tagReads = 0;

  constructor(link: ByteLink, handler: (apdu: Uint8Array) => Uint8Array, options: EmulatorOptions) {
    this.#writer = link.writable.getWriter();
    this.#reader = link.readable.getReader();
    this.#handler = handler;
    this.#address = options.address ?? 0x5f;
    this.options = options;
    this.#served = this.#serve();
  }

  async close(): Promise<void> {
    await this.#reader.cancel();
    await this.#served;
    this.#reader.releaseLock();
    this.#writer.releaseLock();
  }

  async #need(n: number): Promise<boolean> {
    while (this.#bytes.length < n) {
      const { value, done } = await this.#reader.read();
      if (done) return false;
      this.#bytes = Uint8Array.of(...this.#bytes, ...value);
    }
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#bytes.slice(0, n);
    this.#bytes = this.#bytes.slice(n);
    return out;
  }

  async #serve(): Promise<void> {
    for (;;) {
      if (!(await this.#need(1))) return;
      const first = this.#bytes[0]!;
      if (first === 0x5a) {
        if (!(await this.#need(4))) return;
        this.#take(4);
        await this.#writer.write(Uint8Array.of(0xff, 0x00));
      } else if (first === 0x55) {
        if (!(await this.#need(4))) return;
        const [, addressByte, register, count] = this.#bytes as unknown as number[];
        const ours = addressByte! >> 1 === this.#address;
        if ((addressByte! & 1) === 0) {
          if (!(await this.#need(4 + count!))) return;
          const data = this.#take(4 + count!).subarray(4);
          await this.#writer.write(Uint8Array.of(ours ? this.#write(register!, data) : 0));
        } else {
          this.#take(4);
          if (ours && register === 0x80) {
            // The chip holds the clock low until its answer is ready; the adapter answers then.
            this.tagReads++;
            const stretch = this.options.stretchMs ?? 0;
            if (stretch > 0) await new Promise((resolve) => setTimeout(resolve, stretch));
          }
          const answer = ours ? this.#read(register!, count!) : new Uint8Array(count!).fill(0xff);
          await this.#writer.write(answer);
        }
      } else {
        this.violations.push(`unknown adapter command ${first.toString(16)}`);
        this.#take(1);
      }
    }
  }

  #write(register: number, data: Uint8Array): number {
    if (register === 0x00 && data.length === 1 && data[0] === 0x06) {
      this.resets++;
      this.#message = undefined;
      this.#response = undefined;
      this.#stage = "idle";
      this.#readChunk = 0;
      return 1;
    }
    if (register === 0x00 && data.length === 3) {
      this.#message = { tag: data[0]!, length: (data[1]! << 8) | data[2]!, value: [] };
      this.#response = undefined;
      this.#stage = "idle";
    } else if (register === 0x01 && this.#message) {
      this.#message.value.push(...data);
    } else if (register === 0x83 && data.length === 2) {
      this.#readChunk = (data[0]! << 8) | data[1]!;
      return 1;
    } else {
      this.violations.push(`write to register ${register} out of order`);
      return 0;
    }
    const m = this.#message;
    if (m && m.value.length >= m.length) {
      this.#message = undefined;
      this.commands++;
      this.#response = {
        tag: this.options.responseTag ?? 0x80,
        value: this.#handler(Uint8Array.from(m.value)),
        offset: 0,
      };
      this.#stage = "tag";
    }
    return 1;
  }

  #read(register: number, count: number): Uint8Array {
    const r = this.#response;
    if (register === 0x80 && count === 1) {
      if (!r) return Uint8Array.of(0);
      this.#stage = "length";
      return Uint8Array.of(r.tag);
    }
    if (register === 0x81 && r && this.#stage === "length") {
      this.#stage = "value";
      return r.tag < 0x80
        ? Uint8Array.of(r.value.length)
        : Uint8Array.of(r.value.length >> 8, r.value.length & 0xff);
    }
    if (register === 0x82 && r && this.#stage === "value") {
      if (count > this.#readChunk) {
        this.violations.push(`read of ${count} > chunk ${this.#readChunk}`);
      }
      const out = r.value.slice(r.offset, r.offset + count);
      r.offset += count;
      if (r.offset >= r.value.length) this.#response = undefined;
      return out;
    }
    this.violations.push(`read of register ${register} out of order`);
    return new Uint8Array(count);
  }
}

function reverse(apdu: Uint8Array): Uint8Array {
  return Uint8Array.of(...apdu.toReversed(), 0x90, 0x00);
}

function caseThree(size: number, seed: number): Uint8Array {
  const apdu = new Uint8Array(6 + size).map((_, i) => (i * 31 + seed) & 0xff);
  apdu.set([0x80, 0x10, 0, 0, size >> 8, size & 0xff]);
  return apdu;
}

async function withTunnel(
  options: EmulatorOptions & { hostAddress?: number; toHost?: LinkTap; toChip?: LinkTap },
  fn: (t: UsbIssI2cTransport, chip: UsbIssChip) => Promise<void>,
): Promise<void> {
  const [host, chipEnd] = createMemoryLinkPair({
    ...(options.toChip ? { aToB: options.toChip } : {}),
    ...(options.toHost ? { bToA: options.toHost } : {}),
  });
  const chip = new UsbIssChip(chipEnd, reverse, options);
  let transport: UsbIssI2cTransport | undefined;
  try {
    transport = await UsbIssI2cTransport.open(host, {
      adapterTimeoutMs: 50,
      resetDelayMs: 1,
      timeouts: { standard: 100 },
      ...(options.hostAddress ? { address: options.hostAddress } : {}),
    });
    await fn(transport, chip);
    assert.deepEqual(chip.violations, []);
  } finally {
    await transport?.close();
    await host.close();
    await chip.close();
    await chipEnd.close();
  }
}

async function expectLinkError(p: Promise<unknown>, kind: LinkErrorKind): Promise<LinkError> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof LinkError, `expected LinkError(${kind}), got ${error}`);
  assert.equal(error.kind, kind, error.message);
  return error;
}

Deno.test("USB-ISS: adapter commands, worked by hand", () => {
  assert.equal(usbIssWrite(0x5f, 0x00, Uint8Array.fromHex("800006")).toHex(), "55be0003800006");
  assert.equal(usbIssRead(0x5f, 0x80, 1).toHex(), "55bf8001");
  assert.equal(usbIssRead(0x50, 0x82, 60).toHex(), "55a1823c");
  assert.throws(() => usbIssWrite(0x5f, 1, new Uint8Array(0)), RangeError);
  assert.throws(() => usbIssRead(0x5f, 0x82, 256), RangeError);
});

Deno.test("USB-ISS: the exact bytes of set-up and one exchange", async () => {
  const sent: string[] = [];
  const answers: string[] = [];
  await withTunnel({
    toChip: (c) => (sent.push(c.toHex()), c),
    toHost: (c) => (answers.push(c.toHex()), c),
  }, async (t) => {
    const response = await t.transmit(Uint8Array.fromHex("808800000002"));
    assert.equal(response.toHex(), "020000008880" + "9000");
  });
  assert.deepEqual(sent, [
    "5a027001", // adapter: I2C mode
    "55be8302003c", // chip register 83 := 60, the read chunk
    "55be0003800006", // register 00 := tag 80, length 0006
    "55be0106808800000002", // register 01 := the APDU
    "55bf8001", // read the response tag
    "55bf8102", // read the 2-byte length (tag ≥ 0x80)
    "55bf8208", // read the 8-byte value
  ]);
  assert.deepEqual(answers, ["ff00", "01", "01", "01", "80", "0008", "020000008880" + "9000"]);
});

Deno.test("USB-ISS: APDUs of 0..2992 bytes round-trip in 56-byte writes and 60-byte reads", async () => {
  await withTunnel({ stretchMs: 1 }, async (t, chip) => {
    const sizes = [0, 1, 53, 54, 55, 56, 57, 58, 59, 60, 61, 255, 256, 1000, 2991, 2992];
    for (let i = 0; sizes.length < 120; i++) sizes.push((i * 613) % 2993);
    for (const [i, size] of sizes.entries()) {
      const apdu = caseThree(size, i);
      assert.deepEqual(await t.transmit(apdu), reverse(apdu), `size ${size}`);
    }
    assert.equal(chip.commands, sizes.length);
  });
});

Deno.test("USB-ISS: a response tag 40–7F has a 1-byte length", async () => {
  await withTunnel({ responseTag: 0x61 }, async (t) => {
    const apdu = caseThree(20, 3);
    assert.deepEqual(await t.transmit(apdu), reverse(apdu));
  });
});

Deno.test("USB-ISS: a chip at another address does not ACK: open fails with nack", async () => {
  await expectLinkError(withTunnel({ hostAddress: 0x50 }, () => Promise.resolve()), "nack");
});

Deno.test("USB-ISS: a chip that works longer than the adapter timeout is waited for with one read, up to the deadline", async () => {
  // adapterTimeoutMs is 50 in these tests: a 200 ms RSA operation must not time out.
  await withTunnel({ stretchMs: 200 }, async (t, chip) => {
    const apdu = caseThree(40, 3);
    const reads = chip.tagReads;
    assert.deepEqual(await t.transmit(apdu, { timeoutMs: 1000 }), reverse(apdu));
    assert.equal(chip.tagReads - reads, 1, "the response tag is read once, never polled");
    assert.equal(chip.resets, 0);
  });
});

Deno.test("USB-ISS: a chip that stretches past the deadline times out, is reset, and works again", async () => {
  await withTunnel({ stretchMs: 60 }, async (t, chip) => {
    const e = await expectLinkError(t.transmit(caseThree(4, 1), { timeoutMs: 40 }), "timeout");
    assert.equal(e.resynchronised, true);
    assert.equal(chip.resets, 1);
    chip.options.stretchMs = 0;
    const apdu = caseThree(100, 2);
    assert.deepEqual(await t.transmit(apdu), reverse(apdu));
  });
});

Deno.test("USB-ISS: a response tag of 00 is a framing error, not a reason to poll", async () => {
  await withTunnel({}, async (t, chip) => {
    chip.options.responseTag = 0x00;
    const reads = chip.tagReads;
    const e = await expectLinkError(t.transmit(caseThree(4, 1)), "framing");
    assert.equal(e.resynchronised, true);
    assert.equal(chip.tagReads - reads, 1);
    chip.options.responseTag = 0x80;
    const apdu = caseThree(10, 2);
    assert.deepEqual(await t.transmit(apdu), reverse(apdu));
  });
});

Deno.test("USB-ISS: a silent adapter is a timeout; a NACK tag and a bad tag are reported", async () => {
  let silent = false;
  await withTunnel({ toHost: (c) => (silent ? [] : c) }, async (t, chip) => {
    silent = true;
    const e = await expectLinkError(t.transmit(caseThree(4, 1)), "timeout");
    assert.equal(e.resynchronised, false);
    silent = false;
    const apdu = caseThree(70, 2);
    assert.deepEqual(await t.transmit(apdu), reverse(apdu));
    chip.options.responseTag = 0x3f;
    await expectLinkError(t.transmit(apdu), "nack");
    chip.options.responseTag = 0xc5;
    const bad = await expectLinkError(t.transmit(apdu), "framing");
    assert.equal(bad.resynchronised, true);
    chip.options.responseTag = 0x80;
    assert.deepEqual(await t.transmit(apdu), reverse(apdu));
  });
});

Deno.test("USB-ISS: oversize APDUs are refused unsent; close refuses further commands", async () => {
  await withTunnel({}, async (t) => {
    await expectLinkError(t.transmit(new Uint8Array(3001)), "size");
    await t.close();
    await expectLinkError(t.transmit(new Uint8Array(4)), "closed");
  });
});
