import assert from "node:assert/strict";
import { cbc } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { deriveKeyBlock, deriveMasterSecret, finishedVerifyData } from "@anchortls/handshake";
import { ApduError } from "./apdu_error.ts";
import { encodeCommand } from "./command.ts";
import { decodeResponse } from "./response.ts";
import { TrustCoreEmulator } from "./emulator.ts";
import { TrustCore } from "./trust_core.ts";
import {
  AccessCondition,
  DEVICE_CERTIFICATE_FILE,
  DEVICE_KEY_FILE,
  KeyAttribute,
  SeTemplate,
  TrustCoreAlgorithm as Alg,
} from "./trust_core_constants.ts";
import {
  clientCertificateDer,
  clientPublicKey,
  connect,
  contains,
  openSession,
  PIN,
  provisionedChip,
} from "./_test_support.ts";

const swOf = (sw: number) => (e: unknown) => e instanceof ApduError && e.sw === sw;

Deno.test("TrustCore: select, version and random across several GET RANDOM commands", async () => {
  const chip = new TrustCoreEmulator({ version: [2, 7] });
  const handler = chip.handle;
  const tc = new TrustCore({ transmit: (apdu) => Promise.resolve(handler(apdu)) });
  await tc.select();
  assert.deepEqual(await tc.version(), { major: 2, minor: 7 });
  const before = tc.stats.apdus;
  const random = await tc.getRandom(300);
  assert.equal(random.length, 300);
  assert.equal(tc.stats.apdus - before, 2);
  await assert.rejects(tc.getRandom(0), ApduError);
});

Deno.test("TrustCore: commands before SELECT are refused", async () => {
  const tc = connect(new TrustCoreEmulator());
  await assert.rejects(tc.version(), swOf(0x6985));
});

Deno.test("TrustCore: wrong PIN counts down, right PIN resets, third miss blocks", async () => {
  const chip = new TrustCoreEmulator({ pin: PIN, pinTries: 3 });
  const tc = connect(chip);
  await tc.select();
  assert.equal(await tc.pinTriesLeft(), 3);
  await assert.rejects(tc.verifyPin("0000"), swOf(0x63c2));
  assert.equal(await tc.pinTriesLeft(), 2);
  await tc.verifyPin(PIN);
  assert.equal(await tc.pinTriesLeft(), 3);
  for (const left of [2, 1, 0]) await assert.rejects(tc.verifyPin("9999"), swOf(0x63c0 | left));
  await assert.rejects(tc.verifyPin(PIN), swOf(0x6983));
  assert.equal(await tc.pinTriesLeft(), 0);
  await assert.rejects(tc.generatePremaster(), swOf(0x6982));
  await assert.rejects(tc.verifyPin("x".repeat(13)), ApduError);
});

Deno.test("TrustCore: secret operations need the PIN (6982), and SELECT forgets it", async () => {
  const chip = await provisionedChip();
  const tc = connect(chip);
  await tc.select();
  await assert.rejects(tc.generatePremaster(), swOf(0x6982));
  await tc.setSecurityEnvironment(SeTemplate.signature, {
    algorithm: Alg.rsaPkcs1,
    keyFile: DEVICE_KEY_FILE,
  });
  await assert.rejects(tc.signOrMac(new Uint8Array(51)), swOf(0x6982));
  await tc.verifyPin(PIN);
  await tc.generatePremaster();
  await tc.select();
  await assert.rejects(tc.generatePremaster(), swOf(0x6982));
});

Deno.test("Emulator: buffer limit, unknown INS, wrong CLA, chained non-MAC, malformed", () => {
  const chip = new TrustCoreEmulator();
  const send = (hex: string | Uint8Array) =>
    decodeResponse(chip.handle(typeof hex === "string" ? Uint8Array.fromHex(hex) : hex)).sw;
  assert.equal(send("00a4040c000aa00000014454434f5245"), 0x9000);
  const big = encodeCommand(
    { cla: 0x80, ins: 0x85, p1: 0, p2: 1, data: new Uint8Array(2995) },
    "multos",
  );
  assert.equal(big.length, 3001);
  assert.equal(send(big), 0x6700);
  const fits = encodeCommand({
    cla: 0x80,
    ins: 0x85,
    p1: 0x20,
    p2: 3,
    data: new Uint8Array(2992),
    le: 65536,
  }, "multos");
  assert.equal(fits.length, 3000);
  assert.equal(send(fits), 0x9000);
  assert.equal(send("80ff00000000"), 0x6d00);
  assert.equal(send("84880000 0002".replace(" ", "")), 0x6e00);
  assert.equal(send("00b000000010"), 0x6d00);
  // CLA 90 (an ISO chain) has no vendor counterpart: refused as a class the applet lacks.
  assert.equal(send("908500010001aa"), 0x6e00);
  // HANDSHAKE SHA has no one-shot (P2 3) in the vendor code.
  assert.equal(send("808620030003616263" + "0000"), 0x6a86);
  assert.equal(send("8088"), 0x6700);
  assert.equal(send("80850001000501"), 0x6700);
  assert.equal(send("808800000001"), 0x6c02);
});

Deno.test("TrustCore: data over the buffer is refused before it is sent", async () => {
  const tc = await openSession(await provisionedChip());
  const before = tc.stats.apdus;
  await assert.rejects(
    tc.loadUntrustedRsaKey(new Uint8Array(2990), Uint8Array.of(1, 0, 1)),
    ApduError,
  );
  await assert.rejects(tc.verify(new Uint8Array(3000)), ApduError);
  await tc.setSecurityEnvironment(SeTemplate.signature, {
    algorithm: Alg.rsaPkcs1,
    keyFile: DEVICE_KEY_FILE,
  });
  const afterMse = tc.stats.apdus;
  await assert.rejects(tc.signOrMac(new Uint8Array(2993)), ApduError, "no chain by default");
  assert.equal(tc.stats.apdus, afterMse);
  assert.equal(afterMse - before, 2, "one MSE per entry");
});

Deno.test("TrustCore: device certificate, modulus, and a PKCS#1 v1.5 signature WebCrypto accepts", async () => {
  const chip = await provisionedChip();
  const tc = await openSession(chip);
  const der = await clientCertificateDer();
  assert.deepEqual(await tc.readFile(DEVICE_CERTIFICATE_FILE), der);
  const pub = await clientPublicKey();
  assert.deepEqual(await tc.readModulus(DEVICE_KEY_FILE), pub.modulus);

  const message = new TextEncoder().encode("handshake messages");
  const digestInfo = new Uint8Array([
    ...Uint8Array.fromHex("3031300d060960864801650304020105000420"),
    ...sha256(message),
  ]);
  await tc.setSecurityEnvironment(SeTemplate.signature, {
    algorithm: Alg.rsaPkcs1,
    keyFile: DEVICE_KEY_FILE,
  });
  const signature = await tc.signOrMac(digestInfo);
  assert.equal(signature.length, 256);
  const key = await crypto.subtle.importKey(
    "spki",
    pub.spki as BufferSource,
    {
      name: "RSASSA-PKCS1-v1_5",
      hash: "SHA-256",
    },
    false,
    ["verify"],
  );
  assert.ok(
    await crypto.subtle.verify(
      "RSASSA-PKCS1-v1_5",
      key,
      signature as BufferSource,
      message as BufferSource,
    ),
  );

  // The chip's own verify under the untrusted key recovers the DigestInfo, or refuses.
  await tc.loadUntrustedRsaKey(pub.modulus, pub.exponent);
  assert.deepEqual(await tc.verify(signature), digestInfo);
  signature[10]! ^= 1;
  assert.equal(await tc.verify(signature), undefined);
});

Deno.test("TrustCore: the device key and session secrets cannot be read out", async () => {
  const chip = await provisionedChip();
  const tc = await openSession(chip);
  await tc.selectFile(DEVICE_KEY_FILE);
  await assert.rejects(tc.readBinary(0, 16), swOf(0x6982));
  const premaster = await tc.generatePremaster();
  await assert.rejects(tc.selectFile(premaster), swOf(0x6a82));
  const attributes = await tc.readKeyAttributes(premaster);
  assert.equal(attributes.keyLength, 48);
  assert.equal(attributes.attributes & KeyAttribute.extract, 0);
  await tc.eraseTlsKeys();
  await assert.rejects(tc.readKeyAttributes(premaster), swOf(0x6a88));
});

Deno.test("TrustCore: files are created, written in 255-byte and read in 240-byte blocks, deleted", async () => {
  const chip = await provisionedChip({ storage: 4000 });
  const tc = await openSession(chip);
  const content = Uint8Array.from({ length: 600 }, (_, i) => i * 7);
  await tc.createFile(0x5301, 600, { read: AccessCondition.always, update: AccessCondition.user });
  await assert.rejects(tc.createFile(0x5301, 10), swOf(0x6a89));
  let before = tc.stats.apdus;
  await tc.writeFile(0x5301, content);
  assert.equal(tc.stats.apdus - before, 1 + 3);
  before = tc.stats.apdus;
  assert.deepEqual(await tc.readFile(0x5301), content);
  assert.equal(tc.stats.apdus - before, 1 + 3);
  await assert.rejects(tc.writeFile(0x5301, new Uint8Array(601)), ApduError);
  await assert.rejects(tc.createFile(0x5302, 4000), swOf(0x6381));
  await tc.createFile(0x5303, 4, { update: AccessCondition.never });
  await tc.selectFile(0x5303);
  await assert.rejects(tc.updateBinary(0, new Uint8Array(4)), swOf(0x6982));
  await tc.deleteFile(0x5301);
  await assert.rejects(tc.selectFile(0x5301), swOf(0x6a82));
  await assert.rejects(tc.deleteFile(0x5301), swOf(0x6a82));
});

Deno.test("TrustCore: SHA one-shot, split into init/update/final, and the running handshake hash", async () => {
  const tc = await openSession(await provisionedChip());
  const small = new TextEncoder().encode("abc");
  assert.equal(
    (await tc.sha(small)).toHex(),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const big = Uint8Array.from({ length: 7000 }, (_, i) => i);
  const before = tc.stats.apdus;
  assert.deepEqual(await tc.sha(big), sha256(big));
  assert.equal(tc.stats.apdus - before, 1 + 3 + 1);
  await tc.handshakeShaInit();
  await tc.handshakeShaUpdate(small);
  assert.deepEqual(await tc.handshakeShaFinal(), sha256(small));
  await tc.handshakeShaUpdate(big);
  assert.deepEqual(await tc.handshakeShaFinal(), sha256(new Uint8Array([...small, ...big])));
});

for (
  const [suite, key, mac, extended] of [[0x002f, 16, 20, false], [0x003d, 32, 32, true]] as const
) {
  Deno.test(`TrustCore: TLS key schedule in the chip matches software, suite 0x${suite.toString(16)}, EMS ${extended}`, async () => {
    const chip = await provisionedChip({ exposeSecretsForTesting: true });
    const tc = await openSession(chip);
    const pub = await clientPublicKey();
    const clientRandom = await tc.getRandom(32);
    const serverRandom = crypto.getRandomValues(new Uint8Array(32));
    const sessionHash = sha256(new TextEncoder().encode("transcript"));

    await tc.loadUntrustedRsaKey(pub.modulus, pub.exponent);
    const pmsHandle = await tc.generatePremaster(3, 3);
    await tc.setSecurityEnvironment(SeTemplate.confidentiality, { algorithm: Alg.rsaPkcs1 });
    const wrapped = await tc.wrap(pmsHandle);
    assert.equal(wrapped.length, 256);
    const premaster = await openSslDecrypt(wrapped);
    assert.equal(premaster.length, 48);
    assert.equal(premaster.subarray(0, 2).toHex(), "0303");

    const ms = await tc.generateMasterSecret(
      pmsHandle,
      extended ? { sessionHash } : { clientRandom, serverRandom },
    );
    assert.deepEqual(ms.version, [3, 3]);
    const master = deriveMasterSecret(
      premaster,
      extended
        ? { extendedMasterSecret: true, sessionHash }
        : { extendedMasterSecret: false, clientRandom, serverRandom },
    );

    await tc.setSecurityEnvironment(SeTemplate.tls, { keyFile: ms.handle, cipherSuite: suite });
    const block = await tc.generateKeyBlock(serverRandom, clientRandom);
    const keys = deriveKeyBlock(master, clientRandom, serverRandom, {
      macKeyLength: mac,
      encKeyLength: key,
    });

    const hash = sha256(new TextEncoder().encode("messages"));
    await tc.setSecurityEnvironment(SeTemplate.signature, {
      algorithm: Alg.clientFinished,
      keyFile: ms.handle,
    });
    assert.deepEqual(await tc.signOrMac(hash), finishedVerifyData(master, "client finished", hash));
    await tc.setSecurityEnvironment(SeTemplate.signature, { algorithm: Alg.serverFinished });
    assert.deepEqual(await tc.signOrMac(hash), finishedVerifyData(master, "server finished", hash));

    const hmacAlg = mac === 20 ? Alg.hmacSha1 : Alg.hmacSha256;
    const hash_ = mac === 20 ? sha1 : sha256;
    const record = crypto.getRandomValues(new Uint8Array(100));
    await tc.setSecurityEnvironment(SeTemplate.signature, {
      algorithm: hmacAlg,
      keyFile: block.clientMac,
    });
    assert.deepEqual(await tc.signOrMac(record), hmac(hash_, keys.clientMacKey, record));
    await tc.setSecurityEnvironment(SeTemplate.signature, { keyFile: block.serverMac });
    assert.deepEqual(await tc.signOrMac(record), hmac(hash_, keys.serverMacKey, record));

    const iv = crypto.getRandomValues(new Uint8Array(16));
    const plain = crypto.getRandomValues(new Uint8Array(64));
    await tc.setSecurityEnvironment(SeTemplate.confidentiality, {
      algorithm: Alg.aesCbc,
      keyFile: block.clientWrite,
    });
    const sealed = await tc.encrypt(iv, plain);
    assert.deepEqual(sealed, cbc(keys.clientEncKey, iv, { disablePadding: true }).encrypt(plain));
    await tc.setSecurityEnvironment(SeTemplate.confidentiality, { keyFile: block.serverWrite });
    const fromServer = cbc(keys.serverEncKey, iv, { disablePadding: true }).encrypt(plain);
    assert.deepEqual(await tc.decrypt(iv, fromServer), plain);

    // Nothing secret crossed the link: not the premaster, master secret or any record key.
    const secrets = chip.secretsForTesting();
    assert.equal(secrets.length, 2 + 4);
    const sent = chip.sentToHost;
    for (
      const secret of [
        premaster,
        master,
        keys.clientMacKey,
        keys.serverMacKey,
        keys.clientEncKey,
        keys.serverEncKey,
      ]
    ) {
      assert.ok(secrets.some((s) => s.toHex() === secret.toHex()));
      for (const response of sent) assert.ok(!contains(response, secret.subarray(0, 16)));
    }
  });
}

Deno.test("TrustCore: long data — CBC split by IV chaining, MAC by the command-chaining opt-in", async () => {
  const chip = await provisionedChip({ exposeSecretsForTesting: true, acceptChainedMac: true });
  const tc = await openSession(chip, { largeMac: "chain" });
  const ms = await tc.generateMasterSecret(await tc.generatePremaster(), {
    clientRandom: new Uint8Array(32),
    serverRandom: new Uint8Array(32).fill(1),
  });
  await tc.setSecurityEnvironment(SeTemplate.tls, {
    keyFile: ms.handle,
    keyLengths: { key: 16, mac: 32, iv: 16 },
  });
  const block = await tc.generateKeyBlock(new Uint8Array(32), new Uint8Array(32));
  const data = Uint8Array.from({ length: 16 * 1024 }, (_, i) => i * 31);
  const iv = new Uint8Array(16).fill(9);
  await tc.setSecurityEnvironment(SeTemplate.confidentiality, {
    algorithm: Alg.aesCbc,
    keyFile: block.clientWrite,
  });
  let before = tc.stats.apdus;
  const sealed = await tc.encrypt(iv, data);
  assert.equal(tc.stats.apdus - before, Math.ceil(data.length / 2976));
  const [, , clientMacKey, , clientWriteKey] = chip.secretsForTesting();
  assert.deepEqual(sealed, cbc(clientWriteKey!, iv, { disablePadding: true }).encrypt(data));
  assert.deepEqual(await tc.decrypt(iv, sealed), data);
  await tc.setSecurityEnvironment(SeTemplate.signature, {
    algorithm: Alg.hmacSha256,
    keyFile: block.clientMac,
  });
  before = tc.stats.apdus;
  const long = await tc.signOrMac(data);
  assert.equal(tc.stats.apdus - before, Math.ceil(data.length / 2992));
  assert.deepEqual(long, hmac(sha256, clientMacKey!, data));
  const short = await tc.signOrMac(data.subarray(0, 100));
  assert.equal(short.length, 32);
  assert.notDeepEqual(long, short);
  await assert.rejects(tc.encrypt(iv, new Uint8Array(15)), ApduError);

  const strict = connect(chip, { largeMac: "reject" });
  await assert.rejects(strict.signOrMac(data), ApduError);
});

Deno.test("TrustCore: MSE values already set are not sent again; one entry per command unless combined", async () => {
  const chip = await provisionedChip({ acceptCombinedMse: true });
  const tc = await openSession(chip, { combineMseTags: true });
  let before = tc.stats.apdus;
  await tc.setSecurityEnvironment(SeTemplate.signature, {
    algorithm: Alg.rsaPkcs1,
    keyFile: DEVICE_KEY_FILE,
  });
  await tc.setSecurityEnvironment(SeTemplate.signature, {
    algorithm: Alg.rsaPkcs1,
    keyFile: DEVICE_KEY_FILE,
  });
  assert.equal(tc.stats.apdus - before, 1);
  const single = await openSession(chip);
  before = single.stats.apdus;
  await single.setSecurityEnvironment(SeTemplate.signature, {
    algorithm: Alg.rsaPkcs1,
    keyFile: DEVICE_KEY_FILE,
  });
  assert.equal(single.stats.apdus - before, 2);
  await assert.rejects(
    single.setSecurityEnvironment(0xb4 as 0xb6, { algorithm: 1 }),
    swOf(0x6a86),
  );
  // A strict chip (the default emulator) refuses two entries in one MSE, as the vendor never
  // sends them: a client that combines by mistake fails.
  const strictChip = await provisionedChip();
  const combining = await openSession(strictChip, { combineMseTags: true });
  await assert.rejects(
    combining.setSecurityEnvironment(SeTemplate.signature, {
      algorithm: Alg.rsaPkcs1,
      keyFile: DEVICE_KEY_FILE,
    }),
    swOf(0x6a80),
  );
});

Deno.test("Emulator: inspection and JSON never show key material", async () => {
  const chip = await provisionedChip({ exposeSecretsForTesting: true });
  const tc = await openSession(chip);
  await tc.generatePremaster();
  const premaster = chip.secretsForTesting()[0]!;
  for (const text of [Deno.inspect(chip), JSON.stringify(chip), String(chip)]) {
    assert.ok(!text.includes(premaster.toHex()));
    assert.match(text, /TrustCoreEmulator/);
  }
  assert.throws(() => new TrustCoreEmulator().secretsForTesting(), Error);
});

async function openSslDecrypt(ciphertext: Uint8Array): Promise<Uint8Array> {
  const key = new URL("../x509/testdata/client.key", import.meta.url).pathname;
  const child = new Deno.Command("openssl", {
    args: ["pkeyutl", "-decrypt", "-inkey", key, "-pkeyopt", "rsa_padding_mode:pkcs1"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(ciphertext);
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return stdout;
}

Deno.test("TrustCore: key generation commands, byte for byte", async () => {
  const seen: string[] = [];
  const tc = new TrustCore({
    transmit: (apdu) => {
      seen.push(apdu.toHex());
      return Promise.resolve(Uint8Array.fromHex("04aa9000"));
    },
  });
  await tc.generateRsaKey(0x6101, 2048);
  await tc.generateEcKey(0x6300, "P-256", true);
  // 80 46 P1 P2 | Lc 0003 | key file ‖ size (2048 → 00), or key file ‖ curve (P-256 → 17) | Le 0000
  assert.deepEqual(seen, ["8046000000036101000000", "8046010100036300170000"]);
  const chip = await provisionedChip();
  const session = await openSession(chip);
  // The emulator generates EC keys since issue 17 (ecc_gcm_test.ts): X ‖ Y comes back.
  assert.equal((await session.generateEcKey(0x6300, "P-384")).length, 96);
});

Deno.test("Emulator: secret slots run out (6381, the vendor's no-space word) until ERASE TLS KEYS", async () => {
  const other = await openSession(
    await provisionedChip({ secretSlots: 1, slotsFullStatus: 0x6a84 }),
  );
  await other.generatePremaster();
  await assert.rejects(other.generatePremaster(), swOf(0x6a84), "the ISO word, when configured");
  const chip = await provisionedChip({ secretSlots: 7 });
  const tc = await openSession(chip);
  const ms = await tc.generateMasterSecret(await tc.generatePremaster(), {
    clientRandom: new Uint8Array(32),
    serverRandom: new Uint8Array(32),
  });
  await tc.setSecurityEnvironment(SeTemplate.tls, { keyFile: ms.handle, cipherSuite: 0x002f });
  await tc.generateKeyBlock(new Uint8Array(32), new Uint8Array(32));
  await assert.rejects(tc.generateKeyBlock(new Uint8Array(32), new Uint8Array(32)), swOf(0x6381));
  await tc.generatePremaster();
  await assert.rejects(tc.generatePremaster(), swOf(0x6381));
  await tc.eraseTlsKeys();
  assert.equal(chip.secretCount, 0);
  await tc.generatePremaster();
});

Deno.test("TrustCore: an untrusted key already loaded is not sent again until SELECT, a refused load or another key", async () => {
  const chip = await provisionedChip();
  const tc = await openSession(chip);
  const { modulus, exponent } = await clientPublicKey();
  const other = modulus.slice();
  other[other.length - 1]! ^= 2;
  const load = (n = modulus, e = exponent) => tc.loadUntrustedRsaKey(n, e);

  assert.equal(await load(), true);
  const before = tc.stats.apdus;
  assert.equal(await load(), false);
  await tc.eraseTlsKeys();
  assert.equal(await load(), false, "kept through ERASE TLS KEYS by default");
  assert.equal(tc.stats.apdus - before, 1, "only the ERASE TLS KEYS was sent");
  // The emulator did keep it: the premaster wraps under it without a new load.
  const premaster = await tc.generatePremaster();
  await tc.setSecurityEnvironment(SeTemplate.confidentiality, { algorithm: Alg.rsaPkcs1 });
  assert.equal((await tc.wrap(premaster)).length, modulus.length);

  assert.equal(await load(other), true);
  assert.equal(await load(), true);
  const x = new Uint8Array(32).fill(0xaa);
  assert.equal(await tc.loadUntrustedEcKey("P-256", x, x), true);
  assert.equal(await tc.loadUntrustedEcKey("P-256", x, x), false);
  assert.equal(await load(), true);
  await assert.rejects(load(modulus, Uint8Array.of(2)), swOf(0x6a80));
  assert.equal(await load(), true, "a refused load leaves the chip's key unknown");
  await tc.select();
  await tc.verifyPin(PIN);
  assert.equal(await load(), true, "SELECT forgets it");
  tc.forgetUntrustedKey();
  assert.equal(await load(), true);

  const strict = await openSession(chip, { untrustedKeySurvivesErase: false });
  assert.equal(await strict.loadUntrustedRsaKey(modulus, exponent), true);
  assert.equal(await strict.loadUntrustedRsaKey(modulus, exponent), false);
  await strict.eraseTlsKeys();
  assert.equal(await strict.loadUntrustedRsaKey(modulus, exponent), true);
});
