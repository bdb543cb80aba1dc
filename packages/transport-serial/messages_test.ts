import assert from "node:assert/strict";
import {
  decodeCommsParameters,
  encodeCommandApdu,
  encodeCommsParameters,
  encodeReset,
  hundredsOfBaud,
  isResponseTag,
} from "./messages.ts";

Deno.test("messages: hand-worked command-mode encodings", () => {
  // Case 1 SELECT MF header: 80, length 0006, then CLA INS P1 P2 Le(2) = 00 00.
  assert.equal(encodeCommandApdu(Uint8Array.fromHex("00a4000c0000")).toHex(), "80000600a4000c0000");
  // Case 3 SELECT by AID (10 bytes): 4 header + 2 Lc + 10 data = 16 = 0x0010.
  assert.equal(
    encodeCommandApdu(Uint8Array.fromHex("00a4040c000aa0000001445443" + "4f5245")).toHex(),
    "80001000a4040c000aa00000014454434f5245",
  );
  // 2992 data bytes + 8 = 3000 = 0x0bb8.
  const big = encodeCommandApdu(new Uint8Array(3000));
  assert.equal(big.subarray(0, 3).toHex(), "800bb8");
  assert.equal(big.length, 3003);
  assert.equal(encodeReset().toHex(), "06");
  // Option 2 = ACKs; 115200 / 100 = 1152 = 0x0480.
  assert.equal(encodeCommsParameters({ ackMode: true, baudRate: 115200 }).toHex(), "4403020480");
  // Option 1 = no ACKs; 9600 / 100 = 96 = 0x0060; 921600 / 100 = 9216 = 0x2400.
  assert.equal(encodeCommsParameters({ ackMode: false, baudRate: 9600 }).toHex(), "4403010060");
  assert.equal(encodeCommsParameters({ ackMode: false, baudRate: 921600 }).toHex(), "4403012400");
});

Deno.test("messages: Comms Parameters round trip and rejection", () => {
  for (const p of [{ ackMode: true, baudRate: 57600 }, { ackMode: false, baudRate: 460800 }]) {
    assert.deepEqual(decodeCommsParameters(encodeCommsParameters(p).subarray(2)), p);
  }
  assert.equal(decodeCommsParameters(Uint8Array.fromHex("0204")), undefined);
  assert.equal(decodeCommsParameters(Uint8Array.fromHex("02048000")), undefined);
  assert.equal(decodeCommsParameters(Uint8Array.fromHex("030480")), undefined);
  assert.throws(() => hundredsOfBaud.encode(115201), RangeError);
  assert.throws(() => hundredsOfBaud.encode(6553600), RangeError);
  assert.throws(() => encodeCommandApdu(new Uint8Array(0x10000)), RangeError);
});

Deno.test("messages: the response tag range is 0x40–0xBF", () => {
  assert.deepEqual(
    [0x3f, 0x40, 0x80, 0xbf, 0xc0].map(isResponseTag),
    [false, true, true, true, false],
  );
});
