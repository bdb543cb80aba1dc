import assert from "node:assert/strict";
import { AlertDescription, CipherSuites, concatBytes, TlsAlertError } from "@anchortls/record";
import { CertificateError, parsePem } from "@anchortls/x509";
import { x25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import {
  readFixedPki,
  ServerHandshake,
  type ServerHandshakeOptions,
  splitMessages,
} from "@anchortls/testing";
import { ClientHandshake, DEFAULT_CIPHER_SUITES } from "./client_handshake.ts";
import type { ClientHandshakeConfig } from "./handshake_types.ts";
import type { CryptoProvider } from "./crypto_provider.ts";
import { deriveMasterSecret } from "./key_schedule.ts";
import { decodeClientHello } from "./messages/client_hello.ts";
import { ExtensionType } from "./messages/extensions.ts";
import { NamedGroup } from "./named_group.ts";
import { SignatureScheme } from "./signature_scheme.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";
import { run, trustAnchors } from "./_test_run.ts";

const ECDSA_GCM = CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
const RSA_GCM = CipherSuites.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256;

function isAlert(code: number): (e: unknown) => boolean {
  return (e) => e instanceof TlsAlertError && e.description === code && !e.fromPeer;
}

async function clientHelloOf(config: Partial<ClientHandshakeConfig>) {
  const hs = new ClientHandshake({
    provider: new SoftwareCryptoProvider(),
    trustAnchors,
    serverName: "localhost",
    ...config,
  });
  const [send] = await hs.start(0);
  return decodeClientHello(splitMessages((send as { data: Uint8Array }).data)[0]!.body);
}

/** A provider as one written before ECDHE: no cipherSuites, groups or keyAgreement. */
function legacyProvider(): CryptoProvider {
  const inner = new SoftwareCryptoProvider();
  return {
    policy: "software",
    signatureSchemes: [],
    random: (n) => inner.random(n),
    encryptPremaster: (key, version) => inner.encryptPremaster(key, version),
    masterSecret: (pms, context) => inner.masterSecret(pms, context),
    recordKeys: (...args) => inner.recordKeys(...args),
    finished: (...args) => inner.finished(...args),
    certificateChain: () => inner.certificateChain(),
    sign: (scheme, data) => inner.sign(scheme, data),
    release: (handle) => inner.release(handle),
  };
}

Deno.test("ECDHE: the default offer is forward-secret AEAD, then ECDHE-CBC, then RSA, with groups and point formats", async () => {
  const hello = await clientHelloOf({});
  assert.deepEqual(hello.cipherSuites, DEFAULT_CIPHER_SUITES.map((s) => s.id));
  const kinds = DEFAULT_CIPHER_SUITES.map((s) =>
    s.keyExchange === "rsa" ? "rsa" : s.kind === "aead" ? "fs-aead" : "fs-cbc"
  );
  assert.deepEqual(
    kinds,
    [...kinds].sort((a, b) =>
      ["fs-aead", "fs-cbc", "rsa"].indexOf(a) - ["fs-aead", "fs-cbc", "rsa"].indexOf(b)
    ),
  );
  assert.equal(DEFAULT_CIPHER_SUITES.length, Object.keys(CipherSuites).length);
  const ext = (type: number) => hello.extensions.find((e) => e.type === type)?.data.toHex();
  assert.equal(ext(ExtensionType.supported_groups), "0006001d00170018");
  assert.equal(ext(ExtensionType.ec_point_formats), "0100");
  assert.deepEqual(hello.extensions.map((e) => e.type), [0, 13, 10, 11, 22, 23, 0xff01, 35]);
});

Deno.test("ECDHE: groups are offered as configured; an RSA-only offer sends no ECC extensions", async () => {
  const hello = await clientHelloOf({ groups: [NamedGroup.secp384r1] });
  assert.equal(
    hello.extensions.find((e) => e.type === ExtensionType.supported_groups)?.data.toHex(),
    "00020018",
  );
  const rsa = await clientHelloOf({ suites: [CipherSuites.TLS_RSA_WITH_AES_128_GCM_SHA256] });
  assert.deepEqual(rsa.cipherSuites, [0x009c]);
  assert.ok(!rsa.extensions.some((e) => e.type === ExtensionType.supported_groups));
  assert.ok(!rsa.extensions.some((e) => e.type === ExtensionType.ec_point_formats));
});

Deno.test("ECDHE: a provider offers only what it can key; naming more is a TypeError", async () => {
  const hello = await clientHelloOf({ provider: legacyProvider() });
  assert.deepEqual(hello.cipherSuites, [0x003c, 0x003d, 0x002f, 0x0035]);
  assert.ok(!hello.extensions.some((e) => e.type === ExtensionType.supported_groups));
  assert.throws(
    () =>
      new ClientHandshake({
        provider: legacyProvider(),
        trustAnchors,
        suites: [CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA, ECDSA_GCM],
      }),
    (e) =>
      e instanceof TypeError && /cannot do TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256/.test(e.message),
  );
  assert.throws(
    () =>
      new ClientHandshake({
        provider: new SoftwareCryptoProvider(),
        trustAnchors,
        groups: [0x0019],
      }),
    (e) => e instanceof TypeError && /cannot do ECDHE on 0x0019/.test(e.message),
  );
});

for (const group of [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1]) {
  for (const suite of [ECDSA_GCM, RSA_GCM]) {
    Deno.test(`ECDHE: ${suite.name} on group 0x${group.toString(16)} agrees the premaster with the server`, async () => {
      const server = new ServerHandshake({ suite: suite.id, group });
      const { info } = await run(server, { groups: [group] });
      assert.equal(info.suite, suite);
      assert.equal(server.serverKeyExchange?.group, group);
      assert.equal(server.premaster!.length, group === NamedGroup.secp384r1 ? 48 : 32);
    });
  }
}

Deno.test("ECDHE: the server may sign with any scheme we offered that fits its key", async () => {
  for (
    const [suite, scheme] of [
      [RSA_GCM, SignatureScheme.rsa_pkcs1_sha256],
      [RSA_GCM, SignatureScheme.rsa_pss_rsae_sha384],
      [RSA_GCM, SignatureScheme.rsa_pkcs1_sha512],
    ] as const
  ) {
    const { info } = await run(new ServerHandshake({ suite: suite.id, signatureScheme: scheme }));
    assert.equal(info.suite, suite);
  }
});

/**
 * Replaces the server's key share after it signed it. (`serverPublicKey` instead signs the
 * bad key, so that only the key check can refuse it.)
 */
function bentKey(
  publicKey: Uint8Array,
): NonNullable<ServerHandshakeOptions["serverKeyExchange"]> {
  return (m) => ({ ...m, publicKey });
}

const p256Point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
const offCurve = p256Point.slice();
offCurve[64]! ^= 1;

const refusals: [
  string,
  ServerHandshakeOptions,
  Partial<ClientHandshakeConfig>,
  number,
  RegExp?,
][] = [
  [
    "a P-256 point not on the curve",
    { suite: ECDSA_GCM.id, group: NamedGroup.secp256r1, serverPublicKey: offCurve },
    {},
    AlertDescription.illegal_parameter,
    /secp256r1 point is not on the curve/,
  ],
  [
    "a compressed P-256 point (we offered uncompressed only)",
    {
      suite: ECDSA_GCM.id,
      group: NamedGroup.secp256r1,
      serverPublicKey: p256.getPublicKey(p256.utils.randomSecretKey(), true),
    },
    {},
    AlertDescription.illegal_parameter,
  ],
  [
    "an X25519 key of 31 bytes",
    { suite: RSA_GCM.id, serverPublicKey: new Uint8Array(31).fill(9) },
    {},
    AlertDescription.illegal_parameter,
  ],
  [
    "a group we did not offer (secp384r1 to an offer of x25519)",
    { suite: ECDSA_GCM.id, group: NamedGroup.secp384r1 },
    { groups: [NamedGroup.x25519] },
    AlertDescription.illegal_parameter,
  ],
  [
    "an unknown group (secp521r1)",
    { suite: ECDSA_GCM.id, serverKeyExchange: (m) => ({ ...m, group: 0x0019 }) },
    {},
    AlertDescription.illegal_parameter,
  ],
  [
    "a scheme we did not offer (rsa_pkcs1_sha1)",
    { suite: RSA_GCM.id, serverKeyExchange: (m) => ({ ...m, scheme: 0x0201 }) },
    {},
    AlertDescription.illegal_parameter,
  ],
  [
    "an RSA scheme for an ECDHE_ECDSA suite",
    { suite: ECDSA_GCM.id, serverKeyExchange: (m) => ({ ...m, scheme: 0x0804 }) },
    {},
    AlertDescription.illegal_parameter,
  ],
  [
    "an ECDSA scheme for an ECDHE_RSA suite",
    { suite: RSA_GCM.id, serverKeyExchange: (m) => ({ ...m, scheme: 0x0403 }) },
    {},
    AlertDescription.illegal_parameter,
  ],
  [
    "a signature with one bit flipped",
    {
      suite: ECDSA_GCM.id,
      serverKeyExchange: (m) => {
        const signature = m.signature.slice();
        signature[signature.length - 1]! ^= 1;
        return { ...m, signature };
      },
    },
    {},
    AlertDescription.decrypt_error,
  ],
  [
    "another key share under a valid signature of the first (a replaced key)",
    {
      suite: RSA_GCM.id,
      serverKeyExchange: bentKey(x25519.getPublicKey(x25519.utils.randomSecretKey())),
    },
    {},
    AlertDescription.decrypt_error,
  ],
];

for (const [name, options, config, alert, detail] of refusals) {
  Deno.test(`ECDHE: ServerKeyExchange with ${name} is refused before any ClientKeyExchange`, async () => {
    const server = new ServerHandshake(options);
    await assert.rejects(
      () => run(server, config),
      (e) => isAlert(alert)(e) && (detail?.test(String(e)) ?? true),
    );
    assert.equal(server.premaster, undefined, "the client sent no ClientKeyExchange");
  });
}

Deno.test("ECDHE: a small-order X25519 key (an all-zero shared secret) is illegal_parameter", async () => {
  // The order-1 point 0 and the order-8 point 1 both give an all-zero X25519 output; the
  // server signs them, so only the shared-secret check can catch them.
  for (const point of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
    for (const random of [undefined, (n: number) => crypto.getRandomValues(new Uint8Array(n))]) {
      const server = new ServerHandshake({ suite: RSA_GCM.id, serverPublicKey: point });
      const provider = new SoftwareCryptoProvider(random ? { random } : {});
      await assert.rejects(
        () => run(server, { provider }),
        (e) => isAlert(AlertDescription.illegal_parameter)(e) && /all zeros/.test(String(e)),
      );
      assert.equal(server.premaster, undefined);
    }
  }
});

Deno.test("ECDHE: the leaf must fit the suite's authentication", async () => {
  const rsaChain = parsePem(await readFixedPki("chain.pem"));
  const rsaKey = await readFixedPki("leaf.key");
  const ecChain = parsePem(await readFixedPki("ec-chain.pem"));
  const ecKey = await readFixedPki("ec-leaf.key");
  await assert.rejects(
    () =>
      run(
        new ServerHandshake({
          suite: ECDSA_GCM.id,
          chain: rsaChain,
          keyPem: rsaKey,
          signatureScheme: SignatureScheme.rsa_pss_rsae_sha256,
        }),
      ),
    (e) => isAlert(AlertDescription.unsupported_certificate)(e) && /needs an ECDSA/.test(String(e)),
  );
  await assert.rejects(
    () =>
      run(
        new ServerHandshake({
          suite: RSA_GCM.id,
          chain: ecChain,
          keyPem: ecKey,
          signatureScheme: SignatureScheme.ecdsa_secp256r1_sha256,
        }),
      ),
    (e) => isAlert(AlertDescription.unsupported_certificate)(e) && /needs an RSA/.test(String(e)),
  );
  // RSA key transport with an ECDSA leaf: the key cannot take the premaster.
  await assert.rejects(
    () => run(new ServerHandshake({ suite: 0x009c, chain: ecChain, keyPem: ecKey })),
    (e) => e instanceof CertificateError || e instanceof TlsAlertError,
  );
});

Deno.test("ECDHE: the leaf's key usage must allow signing; RSA key transport needs keyEncipherment", async () => {
  const chainOf = async (leaf: string) =>
    parsePem((await readFixedPki(leaf)) + (await readFixedPki("intermediate.pem")));
  // The same keys as leaf.pem and ec-leaf.pem, under keyEncipherment or keyAgreement only.
  const kxOnly = await chainOf("kx-only-leaf.pem");
  const kaOnly = await chainOf("ec-ka-only-leaf.pem");
  for (
    const [suite, chain, keyPem] of [
      [RSA_GCM, kxOnly, await readFixedPki("leaf.key")],
      [ECDSA_GCM, kaOnly, await readFixedPki("ec-leaf.key")],
    ] as const
  ) {
    const server = new ServerHandshake({ suite: suite.id, chain, keyPem });
    await assert.rejects(
      () => run(server),
      (e) => e instanceof CertificateError && e.reason === "key_usage",
      suite.name,
    );
    assert.equal(server.premaster, undefined);
  }
  // keyEncipherment is what RSA key transport needs: the same leaf works there.
  const { info } = await run(new ServerHandshake({ suite: 0x009c, chain: kxOnly }));
  assert.equal(info.suite.id, 0x009c);
});

Deno.test("ECDHE: ServerKeyExchange with explicit curve parameters or trailing bytes is refused", async () => {
  const bend = (change: (ske: Uint8Array) => Uint8Array): ServerHandshakeOptions => ({
    suite: ECDSA_GCM.id,
    firstFlight: (m) => {
      const ske = m[2]!;
      const body = change(ske.subarray(4));
      const framed = new Uint8Array(4 + body.length);
      framed.set([12, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]);
      framed.set(body, 4);
      return [m[0]!, m[1]!, framed, m[3]!];
    },
  });
  await assert.rejects(
    () => run(new ServerHandshake(bend((b) => Uint8Array.of(1, ...b.subarray(1))))),
    isAlert(AlertDescription.illegal_parameter),
  );
  await assert.rejects(
    () => run(new ServerHandshake(bend((b) => concatBytes([b, Uint8Array.of(0)])))),
    isAlert(AlertDescription.decode_error),
  );
  await assert.rejects(
    () => run(new ServerHandshake(bend((b) => b.subarray(0, b.length - 3)))),
    isAlert(AlertDescription.decode_error),
  );
});

Deno.test("ECDHE: ServerHello must not carry supported_groups; ec_point_formats must hold uncompressed", async () => {
  const withExtension = (type: number, data: Uint8Array): ServerHandshakeOptions => ({
    suite: ECDSA_GCM.id,
    serverHello: (h) => ({ ...h, extensions: [...h.extensions, { type, data }] }),
  });
  await assert.rejects(
    () =>
      run(
        new ServerHandshake(
          withExtension(ExtensionType.supported_groups, Uint8Array.of(0, 2, 0, 29)),
        ),
      ),
    isAlert(AlertDescription.unsupported_extension),
  );
  await assert.rejects(
    () =>
      run(new ServerHandshake(withExtension(ExtensionType.ec_point_formats, Uint8Array.of(1, 1)))),
    isAlert(AlertDescription.illegal_parameter),
  );
  await assert.rejects(
    () => run(new ServerHandshake(withExtension(ExtensionType.ec_point_formats, Uint8Array.of(0)))),
    isAlert(AlertDescription.decode_error),
  );
  const { info } = await run(
    new ServerHandshake(withExtension(ExtensionType.ec_point_formats, Uint8Array.of(3, 0, 1, 2))),
  );
  assert.equal(info.suite, ECDSA_GCM);
});

Deno.test("ECDHE: client authentication with ECDSA P-256 and P-384 keys", async () => {
  for (
    const [file, scheme] of [
      ["ec-client", SignatureScheme.ecdsa_secp256r1_sha256],
      ["ec-client-p384", SignatureScheme.ecdsa_secp384r1_sha384],
    ] as const
  ) {
    const chain = parsePem(await readFixedPki(`${file}.pem`));
    const provider = await SoftwareCryptoProvider.create({
      clientCertificate: { chain, privateKey: await readFixedPki(`${file}.key`) },
    });
    for (
      const suite of [ECDSA_GCM, RSA_GCM, CipherSuites.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
    ) {
      const server = new ServerHandshake({
        suite: suite.id,
        certificateRequest: { schemes: [0x0804, 0x0403, 0x0503] },
      });
      const { info } = await run(server, { provider });
      assert.equal(info.clientCertificateSent, true);
      assert.deepEqual(server.clientCertificate, chain);
      assert.equal(server.clientSignatureScheme, scheme, `${file} ${suite.name}`);
    }
  }
});

Deno.test("ECDHE: a SHA-384 suite resumes with its own PRF", async () => {
  const provider = new SoftwareCryptoProvider();
  const server = new ServerHandshake({ suite: 0xc02c });
  const first = await run(server, { provider });
  assert.equal(first.info.suite.prfHash, "sha384");
  const second = await run(server, { provider, session: first.info.session! });
  assert.equal(second.info.resumed, true);
  assert.equal(second.info.suite.id, 0xc02c);
});

Deno.test("ECDHE: RFC 7748 §6.1 X25519 through the provider (seeded private key)", async () => {
  const alicePrivate = Uint8Array.fromHex(
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  );
  const bobPublic = Uint8Array.fromHex(
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  );
  const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  const provider = new SoftwareCryptoProvider({ random: () => alicePrivate.slice() });
  const { publicKey, premaster } = await provider.keyAgreement(NamedGroup.x25519, bobPublic);
  assert.equal(
    publicKey.toHex(),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  const context = {
    extendedMasterSecret: false,
    clientRandom: new Uint8Array(32),
    serverRandom: new Uint8Array(32),
  } as const;
  const master = await provider.masterSecret(premaster, context);
  assert.deepEqual(
    await provider.revealMasterSecret(master),
    deriveMasterSecret(Uint8Array.fromHex(shared), context),
  );
});

Deno.test("ECDHE: the WebCrypto and the seeded key agreement agree with the server's own ECDH", async () => {
  for (const group of [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1]) {
    for (const random of [undefined, (n: number) => crypto.getRandomValues(new Uint8Array(n))]) {
      const server = new ServerHandshake({ suite: ECDSA_GCM.id, group });
      const provider = new SoftwareCryptoProvider(random ? { random } : {});
      const { info } = await run(server, { provider, groups: [group] });
      assert.ok(info.session);
      assert.equal(
        (await provider.revealMasterSecret(info.session.master)).toHex(),
        server.master!.toHex(),
        `group ${group}`,
      );
    }
  }
});
