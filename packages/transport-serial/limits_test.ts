/**
 * Bounded resources of command mode, each hit exactly at its edge: the longest response the
 * host accepts (refused as soon as the length field is in, not after the bytes arrive) and the
 * longest command the device accepts. The host's own APDU limit is in faults_test.ts.
 */
import assert from "node:assert/strict";
import { CommandModeDevice } from "./command_mode_device.ts";
import { CommandModeTransport } from "./command_mode_transport.ts";
import { LinkError } from "./link_error.ts";
import { createMemoryLinkPair } from "./memory_link.ts";

const fast = {
  timeouts: { standard: 2000, long: 2000, keyGeneration: 2000 },
  resetTimeoutMs: 500,
  quietMs: 10,
};

/** A case-3 APDU whose data is two bytes: the response length the chip should answer with. */
function askFor(length: number): Uint8Array {
  return Uint8Array.of(0x80, 0x10, 0, 0, 0, 2, length >> 8, length & 0xff);
}

/** Answers `askFor(n)` with n bytes: n - 2 data bytes and 9000. */
function answerOfAskedLength(apdu: Uint8Array): Uint8Array {
  const n = apdu.length === 8 ? apdu[6]! << 8 | apdu[7]! : 2;
  const out = new Uint8Array(n).fill(0x5a);
  out.set([0x90, 0x00], n - 2);
  return out;
}

async function withChip(
  options: { maxResponseLength?: number; maxApduLength?: number; maxCommandLength?: number },
  fn: (transport: CommandModeTransport) => Promise<void>,
): Promise<void> {
  const [host, chip] = createMemoryLinkPair();
  const device = new CommandModeDevice(
    chip,
    (apdu) => apdu[1] === 0x10 ? answerOfAskedLength(apdu) : Uint8Array.of(apdu.length, 0x90, 0),
    {
      interByteTimeoutMs: 50,
      ...(options.maxCommandLength ? { maxCommandLength: options.maxCommandLength } : {}),
    },
  );
  const transport = new CommandModeTransport(host, {
    ...fast,
    ...(options.maxResponseLength ? { maxResponseLength: options.maxResponseLength } : {}),
    ...(options.maxApduLength ? { maxApduLength: options.maxApduLength } : {}),
  });
  try {
    await fn(transport);
  } finally {
    await transport.close();
    await device.close();
  }
}

async function linkError(promise: Promise<unknown>): Promise<LinkError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LinkError, `expected LinkError, got ${error}`);
    return error;
  }
  assert.fail("expected a LinkError");
}

for (const cap of [undefined, 300]) {
  const limit = cap ?? 3072;
  Deno.test(`limit: a response of ${limit} bytes is taken, ${limit + 1} refused at its header`, async () => {
    await withChip({ ...(cap ? { maxResponseLength: cap } : {}) }, async (transport) => {
      const largest = await transport.transmit(askFor(limit));
      assert.equal(largest.length, limit);
      assert.deepEqual(largest.subarray(limit - 2), Uint8Array.of(0x90, 0));
      const e = await linkError(transport.transmit(askFor(limit + 1)));
      assert.equal(e.kind, "framing");
      // Refused on the length field, not as a torn frame after a timeout.
      assert.match(e.reason, new RegExp(`announces ${limit + 1} bytes, more than the ${limit}`));
      assert.equal(e.resynchronised, true);
      assert.equal((await transport.transmit(askFor(2))).length, 2);
    });
  });
}

Deno.test("limit: the device takes a command of maxCommandLength bytes, NACKs one more", async () => {
  for (const [deviceLimit, hostLimit] of [[undefined, 4000], [100, 200]] as const) {
    const limit = deviceLimit ?? 3000;
    const options = {
      maxApduLength: hostLimit,
      ...(deviceLimit ? { maxCommandLength: deviceLimit } : {}),
    };
    await withChip(options, async (transport) => {
      const apdu = (n: number) => new Uint8Array(n).fill(0x80).with(1, 0x20);
      assert.deepEqual(await transport.transmit(apdu(limit)), Uint8Array.of(limit & 0xff, 0x90, 0));
      const e = await linkError(transport.transmit(apdu(limit + 1)));
      assert.equal(e.kind, "nack", `limit ${limit}`);
      assert.deepEqual(await transport.transmit(apdu(4)), Uint8Array.of(4, 0x90, 0));
    });
  }
});
