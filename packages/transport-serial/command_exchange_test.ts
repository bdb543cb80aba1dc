import assert from "node:assert/strict";
import { CommandExchange, type CommandExchangeOptions } from "./command_exchange.ts";

const base: CommandExchangeOptions = { expect: "response", ackMode: true, maxValueLength: 3072 };

function feed(options: Partial<CommandExchangeOptions>, ...hex: string[]): unknown {
  const exchange = new CommandExchange({ ...base, ...options });
  let step: unknown;
  for (const h of hex) step = exchange.receive(Uint8Array.fromHex(h));
  return step;
}

Deno.test("exchange: ACK then response, any split", () => {
  const wire = "0180000401029000";
  for (let cut = 0; cut <= wire.length / 2; cut++) {
    const step = feed({}, wire.slice(0, cut * 2), wire.slice(cut * 2));
    assert.deepEqual(step, { kind: "done", value: Uint8Array.fromHex("01029000") });
  }
});

Deno.test("exchange: without ACK mode the response comes alone; a 1-byte-length tag works", () => {
  assert.deepEqual(feed({ ackMode: false }, "40029000"), {
    kind: "done",
    value: Uint8Array.fromHex("9000"),
  });
  assert.equal((feed({ ackMode: false }, "01") as { failure: string }).failure, "framing");
});

Deno.test("exchange: failures and whether they need a reset", () => {
  const cases: [Partial<CommandExchangeOptions>, string, string, boolean][] = [
    [{}, "3f", "nack", false],
    [{}, "01" + "3f", "nack", false],
    [{}, "8000029000", "framing", true], // response where the ACK belongs
    [{}, "01" + "01", "framing", true], // a second ACK
    [{}, "01" + "800001" + "90", "framing", true], // no room for SW1 SW2
    [{}, "01" + "c0000000", "framing", true], // long-tag frame is not a response
    [{}, "01" + "20", "framing", true], // a 1-byte tag (no length) is not a response
    [{}, "01" + "80000290000000", "framing", true], // trailing bytes
    [{}, "01" + "8fffff", "framing", true], // over the length cap
    [{ expect: "ack" }, "0101", "framing", true],
    [{ expect: "ack" }, "8000029000", "framing", true],
  ];
  for (const [options, hex, failure, needsReset] of cases) {
    const step = feed(options, hex) as { kind: string; failure: string; needsReset: boolean };
    assert.equal(step.kind, "failed", hex);
    assert.equal(step.failure, failure, hex);
    assert.equal(step.needsReset, needsReset, hex);
  }
});

Deno.test("exchange: timeout is a torn frame when bytes are buffered", () => {
  const silent = new CommandExchange(base);
  assert.equal((silent.timeout() as { failure: string }).failure, "timeout");
  const acked = new CommandExchange(base);
  acked.receive(Uint8Array.fromHex("01"));
  assert.equal(acked.acknowledged, true);
  assert.match((acked.timeout() as { reason: string }).reason, /acknowledged/);
  const torn = new CommandExchange(base);
  torn.receive(Uint8Array.fromHex("018000109000"));
  assert.equal((torn.timeout() as { failure: string }).failure, "framing");
  // Terminal states stick.
  assert.equal(torn.receive(Uint8Array.fromHex("9000")).kind, "failed");
});
