import assert from "node:assert/strict";
import {
  applyCrts,
  CommandFormatError,
  crtsOf,
  GenerateMasterSecret,
  Hash,
  KeyAttributesResponse,
  KeyBlockResponse,
  LoadUntrustedRsaKey,
  MasterSecretResponse,
  MseSet,
  Pso,
  ResponseFormatError,
  type SecurityEnvironment,
  SelectFileResponse,
} from "./_commands.ts";
import { decodeCommand, encodeCommand } from "./command.ts";
import { SeTemplate } from "./trust_core_constants.ts";

const wire = (c: Parameters<typeof encodeCommand>[0]) =>
  decodeCommand(encodeCommand(c, "multos"), "multos");

Deno.test("commands: MSE SET round-trips every entry and refuses bad lengths and truncation", () => {
  const environment: SecurityEnvironment = {
    algorithm: 7,
    keyFile: 0x6212,
    cipherSuite: 0x003c,
    keyLengths: { key: 16, mac: 32, iv: 16 },
  };
  const crts = crtsOf(environment);
  const decoded = MseSet.decode(wire(MseSet.encode({ template: SeTemplate.tls, crts })));
  assert.equal(decoded.template, SeTemplate.tls);
  const back: SecurityEnvironment = {};
  applyCrts(back, decoded.crts);
  assert.deepEqual(back, environment);
  const data = MseSet.encode({ template: SeTemplate.tls, crts }).data!;
  const boundaries = new Set([3, 7, 11]); // a cut after a whole entry leaves a valid command
  for (let cut = 1; cut < data.length; cut++) {
    if (boundaries.has(cut)) continue;
    assert.throws(
      () => MseSet.decode({ cla: 0x80, ins: 0x22, p1: 0x41, p2: 0xba, data: data.slice(0, cut) }),
      CommandFormatError,
      `cut at ${cut}`,
    );
  }
  // A known tag with the wrong length, and an unknown tag.
  for (const bad of ["800201", "8101aa", "9901aa"]) {
    assert.throws(
      () =>
        MseSet.decode({ cla: 0x80, ins: 0x22, p1: 0x41, p2: 0xb6, data: Uint8Array.fromHex(bad) }),
      (e) => e instanceof CommandFormatError && e.sw === 0x6a80,
    );
  }
});

Deno.test("commands: PSO names round-trip through P1P2, and an unknown pair is 6A86", () => {
  for (
    const operation of ["encrypt", "decrypt", "signOrMac", "verify", "wrap", "unwrap"] as const
  ) {
    const data = Uint8Array.of(1, 2, 3);
    assert.deepEqual(Pso.decode(wire(Pso.encode({ operation, data }))), { operation, data });
  }
  assert.equal(Pso.encode({ operation: "encrypt", data: new Uint8Array(1) }).p1, 0x86);
  assert.equal(Pso.encode({ operation: "decrypt", data: new Uint8Array(1) }).p1, 0x80);
  assert.throws(
    () => Pso.decode({ cla: 0x80, ins: 0x2a, p1: 0x86, p2: 0x86 }),
    (e) => e instanceof CommandFormatError && e.sw === 0x6a86,
  );
});

Deno.test("commands: master secret, RSA key and hash steps round-trip; bad forms are refused", () => {
  const seed = new Uint8Array(64).fill(5);
  const ms = { premaster: 0x6210, extended: false, seed };
  assert.deepEqual(GenerateMasterSecret.decode(wire(GenerateMasterSecret.encode(ms))), ms);
  const key = { modulus: new Uint8Array(64).fill(0xc1), exponent: Uint8Array.of(1, 0, 1) };
  const decodedKey = LoadUntrustedRsaKey.decode(wire(LoadUntrustedRsaKey.encode(key)));
  assert.deepEqual(decodedKey, key);
  const keyData = LoadUntrustedRsaKey.encode(key).data!;
  for (const cut of [1, 6, 60]) {
    assert.throws(
      () =>
        LoadUntrustedRsaKey.decode({
          cla: 0x80,
          ins: 0xe6,
          p1: 0,
          p2: 0,
          data: keyData.slice(0, keyData.length - cut),
        }),
      CommandFormatError,
    );
  }
  for (const step of [{ step: "init", hashLength: 32 }, { step: "final" }] as const) {
    assert.deepEqual(Hash.decode(wire(Hash.encode({ kind: "handshake", ...step }))), {
      kind: "handshake",
      ...step,
    });
  }
  assert.throws(
    () => Hash.decode({ cla: 0x80, ins: 0x86, p1: 0x20, p2: 3, data: Uint8Array.of(1) }),
    (e) => e instanceof CommandFormatError && e.sw === 0x6a86,
  );
});

Deno.test("responses: structured answers round-trip and every wrong length is refused", () => {
  const block = {
    clientMac: 0x6212,
    serverMac: 0x6213,
    clientWrite: 0x6214,
    serverWrite: 0x6215,
    clientIv: new Uint8Array(16).fill(1),
    serverIv: new Uint8Array(16).fill(2),
  };
  const attributes = {
    label: "tls key",
    keyType: 2,
    keyLength: 16,
    attributes: 0x00c0,
    checkValue: Uint8Array.of(1, 2, 3),
  };
  const cases = [
    [KeyBlockResponse, block, 40],
    [MasterSecretResponse, { version: [3, 3] as const, handle: 0x6211 }, 4],
    [SelectFileResponse, { fileId: 0x5300, size: 1024 }, 4],
    [KeyAttributesResponse, attributes, 35],
  ] as const;
  for (const [codec, value, length] of cases) {
    const encoded = (codec.encode as (v: typeof value) => Uint8Array)(value);
    assert.equal(encoded.length, length);
    assert.deepEqual(codec.decode(encoded), value);
    for (const n of [0, length - 1, length + 1]) {
      const bytes = new Uint8Array(n);
      bytes.set(encoded.subarray(0, n));
      assert.throws(() => codec.decode(bytes), ResponseFormatError);
    }
  }
});
