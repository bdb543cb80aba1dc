import assert from "node:assert/strict";
import { createMemoryLinkPair } from "./memory_link.ts";

async function readAll(readable: ReadableStream<Uint8Array>): Promise<string> {
  let hex = "";
  for await (const chunk of readable) hex += chunk.toHex();
  return hex;
}

Deno.test("memory pair: bytes cross both ways; close ends the peer's readable side", async () => {
  const [a, b] = createMemoryLinkPair();
  const wa = a.writable.getWriter();
  const wb = b.writable.getWriter();
  await wa.write(Uint8Array.fromHex("0102"));
  await wb.write(Uint8Array.fromHex("aa"));
  await wa.write(Uint8Array.fromHex("03"));
  wa.releaseLock();
  wb.releaseLock();
  await a.close();
  assert.equal(await readAll(b.readable), "010203");
  assert.equal(await readAll(a.readable), "aa");
  const w = b.writable.getWriter();
  await assert.rejects(w.write(new Uint8Array(1)));
  w.releaseLock();
  await b.close();
});

Deno.test("memory pair: taps drop, change and split chunks; writes are copied", async () => {
  const [a, b] = createMemoryLinkPair({
    aToB: (c) => [c.subarray(0, 1), new Uint8Array(), c.subarray(2)],
  });
  const source = Uint8Array.fromHex("112233");
  const writer = a.writable.getWriter();
  await writer.write(source);
  source.fill(0);
  writer.releaseLock();
  await a.close();
  const chunks: string[] = [];
  for await (const c of b.readable) chunks.push(c.toHex());
  assert.deepEqual(chunks, ["11", "33"]);
  await b.close();
});

Deno.test("memory pair: setBaudRate is recorded", async () => {
  const [a, b] = createMemoryLinkPair();
  assert.equal(a.baudRate, undefined);
  await a.setBaudRate(57600);
  assert.equal(a.baudRate, 57600);
  await a.close();
  await b.close();
});
