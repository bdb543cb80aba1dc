/**
 * Fault injection on the in-memory link: each fault ends in a typed LinkError or a clean
 * recovery, a damaged answer is never returned, and the link works again afterwards.
 */
import assert from "node:assert/strict";
import { CommandModeDevice } from "./command_mode_device.ts";
import { CommandModeTransport } from "./command_mode_transport.ts";
import { LinkError, type LinkErrorKind } from "./link_error.ts";
import { createMemoryLinkPair, type LinkTap } from "./memory_link.ts";

/** Answers data ⊕ 0x5A ‖ 9000 for a case-3 APDU. */
function scramble(apdu: Uint8Array): Uint8Array {
  const lc = apdu.length > 6 ? (apdu[4]! << 8) | apdu[5]! : 0;
  const out = new Uint8Array(lc + 2);
  apdu.subarray(6, 6 + lc).forEach((b, i) => (out[i] = b ^ 0x5a));
  out.set([0x90, 0x00], lc);
  return out;
}

function caseThree(size: number, fill = 0x11): Uint8Array {
  const apdu = new Uint8Array(6 + size).fill(fill);
  apdu.set([0x80, 0x10, 0, 0, size >> 8, size & 0xff]);
  return apdu;
}

/** A tap that lets a test damage chunk number `at` (counted from 0) once, or every chunk. */
class Fault {
  #count = 0;
  #damage: ((chunk: Uint8Array) => Uint8Array | readonly Uint8Array[]) | undefined;
  #at = -1;

  readonly tap: LinkTap = (chunk) => {
    const n = this.#count++;
    if (this.#damage && (this.#at === -1 || n === this.#at)) return this.#damage(chunk);
    return chunk;
  };

  /** Damages the `offset`-th chunk from now (-1: every chunk until cleared). */
  arm(damage: (chunk: Uint8Array) => Uint8Array | readonly Uint8Array[], offset: number): void {
    this.#damage = damage;
    this.#at = offset === -1 ? -1 : this.#count + offset;
  }

  clear(): void {
    this.#damage = undefined;
  }
}

const fast = {
  timeouts: { standard: 80, long: 80, keyGeneration: 80 },
  resetTimeoutMs: 80,
  quietMs: 10,
};

async function withLink(
  fn: (t: CommandModeTransport, toChip: Fault, toHost: Fault) => Promise<void>,
  options: { hostMaxApdu?: number } = {},
): Promise<void> {
  const toChip = new Fault();
  const toHost = new Fault();
  const [host, chip] = createMemoryLinkPair({ aToB: toChip.tap, bToA: toHost.tap });
  const device = new CommandModeDevice(chip, scramble, { interByteTimeoutMs: 10 });
  const transport = new CommandModeTransport(host, {
    ...fast,
    ...(options.hostMaxApdu ? { maxApduLength: options.hostMaxApdu } : {}),
  });
  try {
    await fn(transport, toChip, toHost);
  } finally {
    await transport.close();
    await device.close();
  }
}

async function expectLinkError(
  promise: Promise<unknown>,
  kind: LinkErrorKind,
  resynchronised?: boolean,
): Promise<LinkError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof LinkError, `expected LinkError(${kind}), got ${caught}`);
  assert.equal(caught.kind, kind, caught.message);
  if (resynchronised !== undefined) assert.equal(caught.resynchronised, resynchronised);
  return caught;
}

async function stillWorks(t: CommandModeTransport): Promise<void> {
  for (const size of [0, 5, 700]) {
    const apdu = caseThree(size, size);
    assert.deepEqual(await t.transmit(apdu), scramble(apdu));
  }
}

const dropMiddleByte = (c: Uint8Array): Uint8Array =>
  Uint8Array.of(...c.subarray(0, c.length >> 1), ...c.subarray((c.length >> 1) + 1));

Deno.test("fault: a byte dropped from the response is a torn frame, then Reset", async () => {
  await withLink(async (t, _toChip, toHost) => {
    toHost.arm(dropMiddleByte, 1);
    const e = await expectLinkError(t.transmit(caseThree(40)), "framing", true);
    assert.match(e.message, /torn frame/);
    assert.equal(e.command?.toHex(), caseThree(40).toHex());
    await stillWorks(t);
  });
});

Deno.test("fault: a byte dropped from the command makes the chip NACK", async () => {
  await withLink(async (t, toChip) => {
    toChip.arm(dropMiddleByte, 0);
    await expectLinkError(t.transmit(caseThree(40)), "nack", false);
    await stillWorks(t);
  });
});

Deno.test("fault: flipped length bytes in the response are never taken as a good answer", async () => {
  const flips: [string, (c: Uint8Array) => Uint8Array][] = [
    // 80 00 2c …: 0x2c → 0x2d announces one byte more: the frame never completes.
    ["longer", (c) => c.with(2, c[2]! ^ 0x01)],
    // 0x2c → 0x28: the frame ends early and 4 bytes are left over.
    ["shorter", (c) => c.with(2, c[2]! ^ 0x04)],
    // 0x00 → 0x80: 32812 bytes, over the cap: refused as soon as the header is in.
    ["huge", (c) => c.with(1, c[1]! ^ 0x80)],
  ];
  for (const [what, flip] of flips) {
    await withLink(async (t, _toChip, toHost) => {
      toHost.arm(flip, 1);
      const e = await expectLinkError(t.transmit(caseThree(42)), "framing", true);
      assert.ok(e.message.length > 0, what);
      await stillWorks(t);
    });
  }
});

Deno.test("fault: a flipped length byte in the command makes the chip NACK", async () => {
  for (const bit of [0x01, 0x04, 0x80]) {
    await withLink(async (t, toChip) => {
      toChip.arm((c) => c.with(2, c[2]! ^ bit), 0);
      await expectLinkError(t.transmit(caseThree(42)), "nack");
      await stillWorks(t);
    });
  }
});

Deno.test("fault: a truncated response is a torn frame", async () => {
  await withLink(async (t, _toChip, toHost) => {
    toHost.arm((c) => c.subarray(0, 7), 1);
    await expectLinkError(t.transmit(caseThree(300)), "framing", true);
    await stillWorks(t);
  });
});

Deno.test("fault: garbage before a frame is a framing error, then Reset", async () => {
  for (const garbage of ["ff", "55", "00", "9a7e", "c0ffee"]) {
    await withLink(async (t, _toChip, toHost) => {
      toHost.arm((c) => [Uint8Array.fromHex(garbage), c], 0);
      await expectLinkError(t.transmit(caseThree(10)), "framing", true);
      await stillWorks(t);
    });
  }
});

Deno.test("fault: bytes trailing a response in the same read refuse the response", async () => {
  await withLink(async (t, _toChip, toHost) => {
    toHost.arm((c) => Uint8Array.of(...c, 0x12, 0x34), 1);
    const e = await expectLinkError(t.transmit(caseThree(10)), "framing", true);
    assert.match(e.message, /2 unexpected bytes/);
    await stillWorks(t);
  });
});

Deno.test("fault: stray bytes between commands are discarded", async () => {
  await withLink(async (t, _toChip, toHost) => {
    toHost.arm((c) => [c, Uint8Array.fromHex("deadbeef")], 1);
    const apdu = caseThree(10);
    assert.deepEqual(await t.transmit(apdu), scramble(apdu));
    await stillWorks(t);
  });
});

Deno.test("fault: a chip that never answers times out; the next command resets first", async () => {
  await withLink(async (t, _toChip, toHost) => {
    toHost.arm(() => [], -1);
    // The Reset is not acknowledged either, so the link is not yet known to be in sync.
    await expectLinkError(t.transmit(caseThree(10)), "timeout", false);
    await expectLinkError(t.transmit(caseThree(10)), "timeout", false);
    toHost.clear();
    await stillWorks(t);
  });
});

Deno.test("fault: an acknowledged command whose answer never comes times out", async () => {
  await withLink(async (t, _toChip, toHost) => {
    toHost.arm(() => [], 1);
    const e = await expectLinkError(t.transmit(caseThree(10)), "timeout", true);
    assert.match(e.message, /acknowledged but did not answer/);
    await stillWorks(t);
  });
});

Deno.test("fault: a NACK (command too large for the chip) is LinkError nack", async () => {
  await withLink(async (t) => {
    await expectLinkError(t.transmit(caseThree(3100)), "nack", false);
    await stillWorks(t);
  }, { hostMaxApdu: 4000 });
});

Deno.test("an APDU over the host limit is refused without being sent", async () => {
  await withLink(async (t, toChip) => {
    let sent = 0;
    toChip.arm((c) => (sent++, c), -1);
    await expectLinkError(t.transmit(caseThree(2995)), "size");
    await expectLinkError(t.transmit(new Uint8Array(3)), "size");
    assert.equal(sent, 0);
    await stillWorks(t);
  });
});

Deno.test("fault matrix: seeded random structural faults never yield a wrong answer", async () => {
  const seed = Number(Deno.env.get("FAULT_SEED") ?? 0x5eed);
  let x = seed >>> 0;
  const random = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const faults: ((c: Uint8Array) => Uint8Array | readonly Uint8Array[])[] = [
    (c) => c.filter((_, i) => i !== random(c.length)), // drop a byte
    (c) => (c.length > 2 ? c.with(1 + random(2), c[1 + random(2)]! ^ (1 << random(8))) : c),
    (c) => c.subarray(0, random(c.length)), // truncate
    (c) => [Uint8Array.of(random(256), random(256)), c], // garbage first
  ];
  let errors = 0;
  await withLink(async (t, toChip, toHost) => {
    for (let i = 0; i < 60; i++) {
      const apdu = caseThree(random(600), i);
      const fault = faults[random(faults.length)]!;
      (random(2) ? toHost : toChip).arm(fault, random(2));
      try {
        const answer = await t.transmit(apdu);
        assert.deepEqual(answer, scramble(apdu), `seed ${seed}, round ${i}: wrong answer`);
      } catch (error) {
        assert.ok(error instanceof LinkError, `seed ${seed}, round ${i}: ${error}`);
        errors++;
      }
      toHost.clear();
      toChip.clear();
      const check = caseThree(3, i);
      assert.deepEqual(await t.transmit(check), scramble(check), `seed ${seed}, round ${i}`);
    }
  });
  assert.ok(errors > 0, `seed ${seed}: no fault was ever detected`);
});

Deno.test("fault: without ACK mode a torn response is reset by Reset-and-silence", async () => {
  const toHost = new Fault();
  const [host, chip] = createMemoryLinkPair({ bToA: toHost.tap });
  const device = new CommandModeDevice(chip, scramble, { ackMode: false, interByteTimeoutMs: 10 });
  // A chip whose default is no ACKs: after the Reset it is back in that mode, and so is the host.
  const transport = new CommandModeTransport(host, {
    ...fast,
    ackMode: false,
    chipDefaults: { ackMode: false, baudRate: 115200 },
  });
  try {
    toHost.arm(dropMiddleByte, 0);
    await expectLinkError(transport.transmit(caseThree(40)), "framing", true);
    await stillWorks(transport);
  } finally {
    await transport.close();
    await device.close();
  }
});

Deno.test("fault: the chip's end closing mid-command is LinkError closed", async () => {
  const [host, chip] = createMemoryLinkPair();
  const chipReader = chip.readable.getReader();
  const transport = new CommandModeTransport(host, fast);
  try {
    const pending = transport.transmit(caseThree(4));
    await chipReader.read();
    chipReader.releaseLock();
    await chip.close();
    await expectLinkError(pending, "closed");
    await expectLinkError(transport.transmit(caseThree(4)), "closed");
  } finally {
    await transport.close();
  }
});
