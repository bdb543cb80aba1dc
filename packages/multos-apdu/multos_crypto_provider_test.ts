import assert from "node:assert/strict";
import {
  ClientHandshake,
  deriveKeyBlock,
  deriveMasterSecret,
  finishedVerifyData,
  SignatureScheme,
} from "@anchortls/handshake";
import {
  AlertDescription,
  type CbcCipherSuite,
  CbcHmacProtector,
  CipherSuites,
  TlsAlertError,
} from "@anchortls/record";
import { parseCertificate, parsePem, type PublicKeyInfo } from "@anchortls/x509";
import { sha256 } from "@noble/hashes/sha2.js";
import { ApduError } from "./apdu_error.ts";
import { MultosCryptoProvider } from "./multos_crypto_provider.ts";
import { TrustCoreEmulator } from "./emulator.ts";
import { clientCertificateDer, contains, PIN, provisionedChip } from "./_test_support.ts";

const testdata = new URL("../x509/testdata/", import.meta.url);

async function serverKey(): Promise<PublicKeyInfo> {
  return parseCertificate(await clientCertificateDer()).publicKey;
}

function transportTo(chip: TrustCoreEmulator) {
  return { transmit: (apdu: Uint8Array) => Promise.resolve(chip.handle(apdu)) };
}

async function rsaDecrypt(ciphertext: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("openssl", {
    args: [
      "pkeyutl",
      "-decrypt",
      "-inkey",
      new URL("client.key", testdata).pathname,
      "-pkeyopt",
      "rsa_padding_mode:pkcs1",
    ],
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

const suites = Object.values(CipherSuites).filter((s): s is CbcCipherSuite =>
  s.kind === "cbc" && s.keyExchange === "rsa"
);

for (const suite of suites) {
  for (const etm of [false, true]) {
    Deno.test(`MultosCryptoProvider full: ${suite.name} EtM ${etm} interoperates with the software record layer`, async () => {
      const chip = await provisionedChip({ exposeSecretsForTesting: true });
      const provider = await MultosCryptoProvider.open(transportTo(chip), {
        policy: "full",
        pin: PIN,
      });
      const before = provider.trustCore.stats.apdus;
      const clientRandom = await provider.random(32);
      const serverRandom = crypto.getRandomValues(new Uint8Array(32));
      const { encrypted, premaster } = await provider.encryptPremaster(await serverKey());
      const pms = await rsaDecrypt(encrypted);
      const sessionHash = sha256(new TextEncoder().encode(`transcript ${suite.name}`));
      const context = etm
        ? { extendedMasterSecret: true as const, sessionHash }
        : { extendedMasterSecret: false as const, clientRandom, serverRandom };
      const master = await provider.masterSecret(premaster, context);
      await provider.release(premaster);
      const { client, server } = await provider.recordKeys(master, suite, {
        clientRandom,
        serverRandom,
      }, {
        encryptThenMac: etm,
      });
      const hash = sha256(new TextEncoder().encode("messages"));
      const clientFinished = await provider.finished(master, "client finished", hash);
      const serverFinished = await provider.finished(master, "server finished", hash);
      const handshakeApdus = provider.trustCore.stats.apdus - before;
      // One MSE entry per command, as the vendor sends them: GET RANDOM; MSE RESTORE, LOAD
      // UNTRUSTED KEY, GENERATE PREMASTER, MSE (RSA), WRAP; GENERATE MASTER SECRET; MSE (key
      // file), MSE (suite), GENERATE KEY BLOCK; MSE (algorithm), MSE (key), PSO for our
      // Finished; MSE (algorithm), PSO for the server's, its key still selected.
      assert.equal(handshakeApdus, 15, `${handshakeApdus} APDUs for the handshake`);

      const ms = deriveMasterSecret(pms, context);
      assert.deepEqual(clientFinished, finishedVerifyData(ms, "client finished", hash));
      assert.deepEqual(serverFinished, finishedVerifyData(ms, "server finished", hash));
      const keys = deriveKeyBlock(ms, clientRandom, serverRandom, suite);
      // The software peer: it opens what our client seals and seals what our server side opens.
      const peerReads = new CbcHmacProtector({
        suite,
        encryptThenMac: etm,
        encKey: keys.clientEncKey,
        macKey: keys.clientMacKey,
      });
      const peerWrites = new CbcHmacProtector({
        suite,
        encryptThenMac: etm,
        encKey: keys.serverEncKey,
        macKey: keys.serverMacKey,
      });

      // A record that would not fit one chip command is refused before anything is sent:
      // ours as a local error, the peer's as record_overflow naming the options.
      const large = { type: 23, version: 0x0303, sequence: 99n };
      const apdusBefore = provider.trustCore.stats.apdus;
      await assert.rejects(
        async () => await client.seal(large, new Uint8Array(3000)),
        (e) => e instanceof TlsAlertError && e.description === AlertDescription.internal_error,
      );
      await assert.rejects(
        async () => await server.open(large, await peerWrites.seal(large, new Uint8Array(3000))),
        (e) =>
          e instanceof TlsAlertError && e.description === AlertDescription.record_overflow &&
          /maxFragmentLength/.test(e.message),
      );
      assert.equal(provider.trustCore.stats.apdus, apdusBefore);

      for (const size of [0, 1, 15, 16, 100, 2048]) {
        const plaintext = crypto.getRandomValues(new Uint8Array(size));
        const ctx = { type: 23, version: 0x0303, sequence: BigInt(size) };
        const sealed = await client.seal(ctx, plaintext);
        assert.ok(sealed.length <= size + client.maxExpansion);
        assert.deepEqual(peerReads.open(ctx, sealed), plaintext);
        const fromPeer = await peerWrites.seal(ctx, plaintext);
        assert.deepEqual(await server.open(ctx, fromPeer), plaintext);
        if (size === 100) {
          const tampered = fromPeer.slice();
          tampered[tampered.length - 1]! ^= 1;
          await assert.rejects(async () => await server.open(ctx, tampered), isBadRecordMac);
          await assert.rejects(
            async () => await server.open({ ...ctx, sequence: 1n }, fromPeer),
            isBadRecordMac,
          );
          for (const cut of [1, 16, fromPeer.length - 16]) {
            await assert.rejects(
              async () => await server.open(ctx, fromPeer.subarray(0, fromPeer.length - cut)),
              isBadRecordMac,
            );
          }
        }
      }

      // DTLS binds epoch ‖ sequence and version FEFD into the MAC: the same protectors serve it.
      const dtls = { type: 23, version: 0xfefd, sequence: 1n << 48n | 5n };
      const datagram = new TextEncoder().encode("dtls record");
      assert.deepEqual(peerReads.open(dtls, await client.seal(dtls, datagram)), datagram);
      assert.deepEqual(await server.open(dtls, await peerWrites.seal(dtls, datagram)), datagram);

      // Reading and writing at once: the provider serialises the chip, so both still work.
      const a = new Uint8Array(50).fill(1);
      const ctx = { type: 23, version: 0x0303, sequence: 7n };
      const fromPeer = await peerWrites.seal(ctx, a);
      const [sealed, opened] = await Promise.all([client.seal(ctx, a), server.open(ctx, fromPeer)]);
      assert.deepEqual(await peerReads.open(ctx, sealed), a);
      assert.deepEqual(opened, a);

      // No secret crossed the link: every response the chip sent is free of every secret.
      const secrets = chip.secretsForTesting();
      assert.ok(secrets.some((s) => s.toHex() === pms.toHex()));
      assert.ok(secrets.some((s) => s.toHex() === ms.toHex()));
      for (const k of Object.values(keys).filter((k) => k.length > 0)) {
        assert.ok(secrets.some((s) => s.toHex() === k.toHex()));
      }
      const link = chip.sentToHost;
      for (const secret of secrets) {
        for (const response of link) assert.ok(!contains(response, secret.subarray(0, 8)));
      }
      await provider.close();
      await assert.rejects(async () => await client.seal(ctx, a), TypeError);
    });
  }
}

function isBadRecordMac(e: unknown): boolean {
  return e instanceof TlsAlertError && e.description === AlertDescription.bad_record_mac;
}

Deno.test("MultosCryptoProvider: client authentication with the chip's device key and stored certificate", async () => {
  for (const policy of ["full", "hybrid"] as const) {
    const chip = await provisionedChip();
    const provider = await MultosCryptoProvider.open(transportTo(chip), { policy, pin: PIN });
    assert.deepEqual(await provider.certificateChain(), [await clientCertificateDer()]);
    assert.ok(provider.signatureSchemes.includes(SignatureScheme.rsa_pkcs1_sha256));
    const data = new TextEncoder().encode("all handshake messages so far");
    const key = await crypto.subtle.importKey(
      "spki",
      ((await serverKey()) as { spki: Uint8Array }).spki as BufferSource,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
      false,
      ["verify"],
    );
    const signature = await provider.sign(SignatureScheme.rsa_pkcs1_sha384, data);
    assert.ok(
      await crypto.subtle.verify(
        "RSASSA-PKCS1-v1_5",
        key,
        signature as BufferSource,
        data as BufferSource,
      ),
    );
    const pssKey = await crypto.subtle.importKey(
      "spki",
      ((await serverKey()) as { spki: Uint8Array }).spki as BufferSource,
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["verify"],
    );
    // PKCS#1 v1.5 first, as the vendor signs; PSS is not offered unless asked for.
    assert.equal(provider.signatureSchemes[0], SignatureScheme.rsa_pkcs1_sha256);
    assert.ok(!provider.signatureSchemes.includes(SignatureScheme.rsa_pss_rsae_sha256));
    await assert.rejects(provider.sign(SignatureScheme.rsa_pss_rsae_sha256, data), RangeError);
    await provider.close();
    const withPss = await MultosCryptoProvider.open(transportTo(chip), {
      policy,
      pin: PIN,
      signatureSchemes: [SignatureScheme.rsa_pkcs1_sha256, SignatureScheme.rsa_pss_rsae_sha256],
    });
    const pss = await withPss.sign(SignatureScheme.rsa_pss_rsae_sha256, data);
    assert.ok(
      await crypto.subtle.verify(
        { name: "RSA-PSS", saltLength: 32 },
        pssKey,
        pss as BufferSource,
        data as BufferSource,
      ),
    );
    assert.notDeepEqual(
      await withPss.sign(SignatureScheme.rsa_pss_rsae_sha256, data),
      pss,
      "fresh salt",
    );
    await assert.rejects(withPss.sign(SignatureScheme.ecdsa_secp256r1_sha256, data), RangeError);
    await withPss.close();
  }
});

Deno.test("MultosCryptoProvider hybrid: session crypto on the host, no APDUs after open but for signing", async () => {
  const chip = await provisionedChip();
  const provider = await MultosCryptoProvider.open(transportTo(chip), {
    policy: "hybrid",
    pin: PIN,
  });
  const before = provider.trustCore.stats.apdus;
  const clientRandom = await provider.random(32);
  const serverRandom = await provider.random(32);
  const { encrypted, premaster } = await provider.encryptPremaster(await serverKey());
  const pms = await rsaDecrypt(encrypted);
  const context = { extendedMasterSecret: false as const, clientRandom, serverRandom };
  const master = await provider.masterSecret(premaster, context);
  const suite = CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256;
  const { client } = await provider.recordKeys(master, suite, { clientRandom, serverRandom }, {
    encryptThenMac: true,
  });
  const hash = new Uint8Array(32);
  assert.deepEqual(
    await provider.finished(master, "client finished", hash),
    finishedVerifyData(deriveMasterSecret(pms, context), "client finished", hash),
  );
  const ctx = { type: 23, version: 0x0303, sequence: 0n };
  await client.seal(ctx, new Uint8Array(10));
  assert.equal(provider.trustCore.stats.apdus, before);
  assert.equal(provider.policy, "hybrid");
});

Deno.test("MultosCryptoProvider: PIN errors, missing PIN (6982), foreign and erased handles", async () => {
  const chip = await provisionedChip();
  await assert.rejects(
    MultosCryptoProvider.open(transportTo(chip), { policy: "full", pin: "0000" }),
    (e) => e instanceof ApduError && e.sw === 0x63c2,
  );
  const noPin = await MultosCryptoProvider.open(transportTo(chip), { policy: "full" });
  await assert.rejects(
    noPin.encryptPremaster(await serverKey()),
    (e) => e instanceof ApduError && e.sw === 0x6982,
  );

  const provider = await MultosCryptoProvider.open(transportTo(chip), { policy: "full", pin: PIN });
  const other = await MultosCryptoProvider.open(transportTo(await provisionedChip()), {
    policy: "full",
    pin: PIN,
  });
  const first = await provider.encryptPremaster(await serverKey());
  const randoms = {
    extendedMasterSecret: false as const,
    clientRandom: new Uint8Array(32),
    serverRandom: new Uint8Array(32),
  };
  await assert.rejects(other.masterSecret(first.premaster, randoms), TypeError);
  const second = await provider.encryptPremaster(await serverKey());
  await assert.rejects(provider.masterSecret(first.premaster, randoms), /erased chip session/);
  await provider.release(second.premaster);
  await assert.rejects(provider.masterSecret(second.premaster, randoms), /released/);
  assert.ok(!String(second.premaster).includes("03 03"));
  assert.equal(chip.secretCount, 1);
  await provider.close();
  assert.equal(chip.secretCount, 0);

  const blocked = await provisionedChip({ pinTries: 1 });
  await assert.rejects(
    MultosCryptoProvider.open(transportTo(blocked), { policy: "full", pin: "9" }),
    ApduError,
  );
  await assert.rejects(
    MultosCryptoProvider.open(transportTo(blocked), { policy: "full", pin: PIN }),
    (e) => e instanceof ApduError && e.sw === 0x6983,
  );
});

Deno.test("MultosCryptoProvider: a chip without a certificate offers no client authentication", async () => {
  const provider = await MultosCryptoProvider.open(
    transportTo(new TrustCoreEmulator({ pin: PIN })),
    {
      policy: "full",
      pin: PIN,
    },
  );
  assert.deepEqual(await provider.certificateChain(), []);
  assert.deepEqual(provider.signatureSchemes, []);
});

for (const slotsFullStatus of [0x6381, 0x6a84]) {
  Deno.test(`MultosCryptoProvider full: abbreviated handshakes free earlier record keys when slots run out (${slotsFullStatus.toString(16)})`, async () => {
    const chip = await provisionedChip({ slotsFullStatus });
    const provider = await MultosCryptoProvider.open(transportTo(chip), {
      policy: "full",
      pin: PIN,
    });
    const clientRandom = new Uint8Array(32).fill(1);
    const serverRandom = new Uint8Array(32).fill(2);
    const { premaster } = await provider.encryptPremaster(await serverKey());
    const master = await provider.masterSecret(premaster, {
      extendedMasterSecret: true,
      sessionHash: new Uint8Array(32),
    });
    await provider.release(premaster);
    const suite = CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA;
    const ctx = { type: 23, version: 0x0303, sequence: 0n };
    const first = await provider.recordKeys(master, suite, { clientRandom, serverRandom }, {
      encryptThenMac: false,
    });
    const second = await provider.recordKeys(master, suite, { clientRandom, serverRandom }, {
      encryptThenMac: false,
    });
    assert.equal(chip.secretCount, 10);
    const sealedByFirst = await first.client.seal(ctx, new Uint8Array(5));
    // Slots are full: the third key block frees the premaster and both earlier key blocks.
    const third = await provider.recordKeys(master, suite, { clientRandom, serverRandom }, {
      encryptThenMac: false,
    });
    assert.equal(chip.secretCount, 1 + 4, "the master secret and the new key block");
    await assert.rejects(
      async () => await first.client.seal(ctx, new Uint8Array(5)),
      /erased chip session/,
    );
    await assert.rejects(
      async () => await second.server.open(ctx, sealedByFirst),
      /erased chip session/,
    );
    // Same master and randoms, so the third key block holds the first's keys: what the first
    // client sealed, the third client's keys produce again from the same IV and plaintext.
    const again = await third.client.seal(ctx, new Uint8Array(5));
    assert.equal(again.length, sealedByFirst.length);
    await provider.close();
  });
}

Deno.test("MultosCryptoProvider full: the next handshake with the same server key does not load it again, and reloads it when the chip lost it", async () => {
  const chip = await provisionedChip();
  const sent: number[] = [];
  const link = {
    transmit: (apdu: Uint8Array) => {
      sent.push(apdu[1]!);
      return Promise.resolve(chip.handle(apdu));
    },
  };
  const provider = await MultosCryptoProvider.open(link, { policy: "full", pin: PIN });
  const key = await serverKey();
  const [erase, load, generate, mse, pso] = [0xe7, 0xe6, 0x46, 0x22, 0x2a];
  sent.length = 0;
  await provider.encryptPremaster(key);
  // MSE RESTORE first: each premaster starts from a known environment, as the vendor's.
  assert.deepEqual(sent, [mse, load, generate, mse, pso]);

  sent.length = 0;
  const second = await provider.encryptPremaster(key);
  assert.deepEqual(sent, [erase, mse, generate, mse, pso]);
  assert.deepEqual((await rsaDecrypt(second.encrypted)).subarray(0, 2), Uint8Array.of(3, 3));

  // Behind the provider's back the chip's untrusted key becomes an EC point, as on a chip that
  // lost the server key: the wrap is refused, the key loaded again and the wrap repeated.
  const ecLoad = Uint8Array.fromHex("80e601000041" + "17" + "aa".repeat(64));
  assert.equal(chip.handle(ecLoad).toHex(), "9000");
  sent.length = 0;
  const third = await provider.encryptPremaster(key);
  assert.deepEqual(sent, [erase, mse, generate, mse, pso, load, pso]);
  assert.deepEqual((await rsaDecrypt(third.encrypted)).subarray(0, 2), Uint8Array.of(3, 3));

  // A different server key is loaded.
  sent.length = 0;
  const leaf = parseCertificate(
    parsePem(await Deno.readTextFile(new URL("leaf.pem", testdata)))[0]!,
  ).publicKey;
  await provider.encryptPremaster(leaf);
  assert.deepEqual(sent, [erase, mse, load, generate, mse, pso]);
  await provider.close();

  const strict = await MultosCryptoProvider.open(link, {
    policy: "full",
    pin: PIN,
    trustCore: { untrustedKeySurvivesErase: false },
  });
  await strict.encryptPremaster(key);
  sent.length = 0;
  await strict.encryptPremaster(key);
  assert.deepEqual(sent, [erase, mse, load, generate, mse, pso]);
  await strict.close();
});

Deno.test("MultosCryptoProvider: what runs where is data, following the composition", async () => {
  const chip = await provisionedChip();
  const full = await MultosCryptoProvider.open(transportTo(chip), { policy: "full", pin: PIN });
  assert.deepEqual(new Set(Object.values(full.placement)), new Set(["chip"]));
  assert.equal(full.policy, "full");
  await full.close();
  const hybrid = await MultosCryptoProvider.open(transportTo(chip), { policy: "hybrid", pin: PIN });
  const inChip = Object.entries(hybrid.placement).filter(([, where]) => where === "chip");
  assert.deepEqual(inChip.map(([op]) => op).sort(), ["certificateChain", "sign"]);
  assert.equal(hybrid.recordRequirements, undefined, "host records have no chip limits");
  await hybrid.close();
});

Deno.test("MultosCryptoProvider: the chip is put in a known state — ERASE at open, MSE RESTORE before each premaster, ERASE and DESELECT at close", async () => {
  const chip = await provisionedChip();
  // An earlier host process left a premaster behind.
  const earlier = await MultosCryptoProvider.open(transportTo(chip), { policy: "full", pin: PIN });
  await earlier.encryptPremaster(await serverKey());
  assert.equal(chip.secretCount, 1);
  const sent: string[] = [];
  const provider = await MultosCryptoProvider.open({
    transmit: (apdu) => {
      sent.push(apdu.toHex());
      return Promise.resolve(chip.handle(apdu));
    },
  }, { policy: "full", pin: PIN });
  assert.equal(chip.secretCount, 0, "the earlier process's secrets are gone");
  assert.ok(sent.includes("80e700000000"));
  sent.length = 0;
  await provider.encryptPremaster(await serverKey());
  assert.equal(sent[0], "8022f3020000", "MSE RESTORE of environment 2 comes first");
  sent.length = 0;
  await provider.close();
  assert.deepEqual(sent, ["80e700000000", "00a40000" + "0002" + "3f00"]);
  assert.equal(chip.secretCount, 0);
  // Deselected: the applet answers nothing until it is selected again.
  assert.equal(chip.handle(Uint8Array.fromHex("808800000002")).toHex(), "6985");
});

Deno.test("MultosCryptoProvider: any answer but 9000 to SELECT EF means no such file", async () => {
  for (const sw of [0x6a82, 0x6a88, 0x6400]) {
    const chip = new TrustCoreEmulator({ pin: PIN, fileNotFoundStatus: sw });
    const provider = await MultosCryptoProvider.open(transportTo(chip), {
      policy: "hybrid",
      pin: PIN,
    });
    assert.deepEqual(await provider.certificateChain(), [], sw.toString(16));
    assert.deepEqual(provider.signatureSchemes, []);
    await provider.close();
  }
});

Deno.test("MultosCryptoProvider: a key log is refused in full (the master secret stays in the chip) and given in hybrid", async () => {
  const chip = await provisionedChip();
  const trustAnchors = [parseCertificate(await clientCertificateDer())];
  const keyLog = () => {};
  const full = await MultosCryptoProvider.open(transportTo(chip), { policy: "full", pin: PIN });
  assert.throws(
    () => new ClientHandshake({ provider: full, trustAnchors, keyLog }),
    (e: unknown) =>
      e instanceof TypeError &&
      /keyLog is refused: .*derived in the chip.*policy full/.test(e.message),
  );
  const clientRandom = await full.random(32);
  const context = {
    extendedMasterSecret: false as const,
    clientRandom,
    serverRandom: new Uint8Array(32),
  };
  const inChip = await full.masterSecret(
    (await full.encryptPremaster(await serverKey())).premaster,
    context,
  );
  await assert.rejects(full.revealMasterSecret(inChip), TypeError);
  await full.close();

  const hybrid = await MultosCryptoProvider.open(transportTo(chip), { policy: "hybrid", pin: PIN });
  new ClientHandshake({ provider: hybrid, trustAnchors, keyLog });
  const { encrypted, premaster } = await hybrid.encryptPremaster(await serverKey());
  const master = await hybrid.masterSecret(premaster, context);
  assert.deepEqual(
    await hybrid.revealMasterSecret(master),
    deriveMasterSecret(await rsaDecrypt(encrypted), context),
  );
  await hybrid.close();
});
