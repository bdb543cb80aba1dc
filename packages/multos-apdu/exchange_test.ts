import assert from "node:assert/strict";
import { ApduError } from "./apdu_error.ts";
import { ApduChannel } from "./channel.ts";
import { ApduExchange, type ExchangeStep, followUp } from "./exchange.ts";

function sent(step: ExchangeStep): string {
  assert.equal(step.kind, "send");
  return step.kind === "send" ? step.apdu.toHex() : "";
}

Deno.test("ApduExchange: 9000 at once", () => {
  const ex = new ApduExchange({ cla: 0x80, ins: 0x88, p1: 0, p2: 0, le: 2 });
  assert.equal(ex.start().toHex(), "808800000002");
  const done = ex.receive(Uint8Array.fromHex("01029000"));
  assert.deepEqual(done, {
    kind: "done",
    response: { data: Uint8Array.fromHex("0102"), sw: 0x9000 },
  });
  assert.throws(() => ex.receive(Uint8Array.fromHex("9000")), ApduError);
  assert.throws(() => ex.start(), ApduError);
});

Deno.test("ApduExchange: 61XX collects data through GET RESPONSE, 6100 asks for 256", () => {
  const ex = new ApduExchange({ cla: 0x00, ins: 0xb0, p1: 0, p2: 0, le: 256 }, { form: "short" });
  assert.equal(ex.start().toHex(), "00b0000000");
  assert.equal(sent(ex.receive(Uint8Array.fromHex("aa6100"))), "00c0000000");
  assert.equal(sent(ex.receive(Uint8Array.fromHex("bb6103"))), "00c0000003");
  const done = ex.receive(Uint8Array.fromHex("ccddee9000"));
  assert.equal(done.kind, "done");
  if (done.kind === "done") {
    assert.equal(done.response.data.toHex(), "aabbccddee");
    assert.equal(done.response.sw, 0x9000);
  }
});

Deno.test("ApduExchange: GET RESPONSE keeps the logical channel and uses the form", () => {
  const ex = new ApduExchange({
    cla: 0x83,
    ins: 0x2a,
    p1: 0x9e,
    p2: 0x9a,
    data: new Uint8Array([1]),
  });
  assert.equal(ex.start().toHex(), "832a9e9a000101");
  assert.equal(sent(ex.receive(Uint8Array.fromHex("6120"))), "03c000000020");
});

Deno.test("ApduExchange: 6CXX resends once with the corrected Le", () => {
  const ex = new ApduExchange({ cla: 0x80, ins: 0x84, p1: 0, p2: 0, le: 16 }, { form: "short" });
  assert.equal(ex.start().toHex(), "8084000010");
  assert.equal(sent(ex.receive(Uint8Array.fromHex("6c08"))), "8084000008");
  const done = ex.receive(Uint8Array.fromHex("6c04"));
  assert.equal(done.kind, "done");
  if (done.kind === "done") assert.equal(done.response.sw, 0x6c04);
});

Deno.test("ApduExchange: chaining sets CLA bit 0x10 on all but the last part", () => {
  const data = Uint8Array.from({ length: 7 }, (_, i) => i + 1);
  const ex = new ApduExchange({ cla: 0x80, ins: 0x2a, p1: 0x9e, p2: 0x9a, data, le: 20 }, {
    form: "short",
    chunkSize: 3,
  });
  assert.equal(ex.chainLength, 3);
  assert.equal(ex.start().toHex(), "902a9e9a03010203");
  assert.equal(sent(ex.receive(Uint8Array.fromHex("9000"))), "902a9e9a03040506");
  assert.equal(sent(ex.receive(Uint8Array.fromHex("9000"))), "802a9e9a010714");
  const done = ex.receive(Uint8Array.fromHex("ff9000"));
  assert.equal(done.kind === "done" && done.response.data.toHex(), "ff");
});

Deno.test("ApduExchange: a failing status mid-chain ends the exchange", () => {
  const ex = new ApduExchange({ cla: 0x80, ins: 0xd6, p1: 0, p2: 0, data: new Uint8Array(10) }, {
    chunkSize: 4,
  });
  ex.start();
  const done = ex.receive(Uint8Array.fromHex("6884"));
  assert.deepEqual(done, { kind: "done", response: { data: new Uint8Array(0), sw: 0x6884 } });
});

Deno.test("ApduExchange: an endless 61XX card is cut off", () => {
  const ex = new ApduExchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 1 }, { maxRounds: 3 });
  ex.start();
  for (let i = 0; i < 3; i++) ex.receive(Uint8Array.fromHex("006101"));
  assert.throws(() => ex.receive(Uint8Array.fromHex("006101")), ApduError);
});

Deno.test("ApduExchange: malformed response and bad chunk size", () => {
  const ex = new ApduExchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 1 }, { name: "READ BINARY" });
  assert.throws(() => ex.receive(Uint8Array.fromHex("9000")), ApduError);
  ex.start();
  assert.throws(() => ex.receive(Uint8Array.fromHex("90")), /READ BINARY/);
  assert.throws(
    () => new ApduExchange({ cla: 0, ins: 0, p1: 0, p2: 0 }, { chunkSize: 0 }),
    ApduError,
  );
});

Deno.test("ApduChannel: drives an exchange over a transport and counts the link", async () => {
  const script = new Map([
    ["80ca00000004", "6c02"],
    ["80ca00000002", "abcd6101"],
    ["00c000000001", "ef9000"],
  ]);
  const seen: string[] = [];
  const channel = new ApduChannel({
    transmit: (apdu) => {
      seen.push(apdu.toHex());
      const answer = script.get(apdu.toHex());
      return answer === undefined
        ? Promise.reject(new Error("unexpected"))
        : Promise.resolve(Uint8Array.fromHex(answer));
    },
  });
  const data = await channel.transmitOk({ cla: 0x80, ins: 0xca, p1: 0, p2: 0, le: 4 });
  assert.equal(data.toHex(), "abcdef");
  assert.deepEqual(seen, ["80ca00000004", "80ca00000002", "00c000000001"]);
  assert.deepEqual(channel.stats, { apdus: 3, bytesSent: 18, bytesReceived: 9 });
  await assert.rejects(
    channel.transmitOk({ cla: 0x80, ins: 0xca, p1: 0, p2: 0, le: 9 }),
    /unexpected/,
  );
});

Deno.test("ApduChannel: transmitOk throws ApduError naming the command", async () => {
  const channel = new ApduChannel({ transmit: () => Promise.resolve(Uint8Array.fromHex("6982")) });
  await assert.rejects(
    channel.transmitOk({ cla: 0x80, ins: 0x2a, p1: 0x9e, p2: 0x9a }, { name: "PSO SIGN" }),
    (e: unknown) => e instanceof ApduError && e.sw === 0x6982 && e.command === "PSO SIGN",
  );
  const response = await channel.transmit({ cla: 0x80, ins: 0x2a, p1: 0x9e, p2: 0x9a });
  assert.equal(response.sw, 0x6982);
});

Deno.test("followUp: the pure next-command function", () => {
  const read = { cla: 0x81, ins: 0xb0, p1: 0, p2: 0, le: 16 };
  const none = new Uint8Array(0);
  assert.deepEqual(followUp(read, { data: none, sw: 0x6110 }), {
    cla: 0x01,
    ins: 0xc0,
    p1: 0,
    p2: 0,
    le: 16,
  });
  assert.deepEqual(followUp(read, { data: none, sw: 0x6100 })?.le, 256);
  assert.deepEqual(followUp(read, { data: none, sw: 0x6c04 }), { ...read, le: 4 });
  assert.deepEqual(followUp(read, { data: none, sw: 0x6c00 })?.le, 256);
  for (const sw of [0x9000, 0x6982, 0x6a80, 0x63c1]) {
    assert.equal(followUp(read, { data: none, sw }), undefined);
  }
});
