import assert from "node:assert/strict";
import {
  AlertDescription,
  CipherSuites,
  concatBytes as concat,
  TlsAlertError,
} from "@anchortls/record";
import { CertificateError, parseCertificateChain, parsePem } from "@anchortls/x509";
import { certificateAlert } from "./alert_mapping.ts";
import {
  feedRecord,
  readFixedPki,
  ServerHandshake,
  type ServerHandshakeOptions,
  splitMessages,
} from "@anchortls/testing";
import {
  ClientHandshake,
  type ClientHandshakeConfig,
  DEFAULT_CIPHER_SUITES,
  type HandshakeAction,
} from "./client_handshake.ts";
import type { CryptoProvider } from "./crypto_provider.ts";
import { decodeClientHello } from "./messages/client_hello.ts";
import { ExtensionType } from "./messages/extensions.ts";
import { encodeTlsHandshake } from "./messages/framing.ts";
import { HandshakeType } from "./messages/handshake_type.ts";
import type { ServerHello } from "./messages/server_hello.ts";
import { SignatureScheme } from "./signature_scheme.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";
import { run, trustAnchors } from "./_test_run.ts";

const HS = 22;
const CCS = 20;

function isAlert(code: number): (e: unknown) => boolean {
  return (e) => e instanceof TlsAlertError && e.description === code && !e.fromPeer;
}

function isCertificateError(reason: string, alert: number): (e: unknown) => boolean {
  return (e) =>
    e instanceof CertificateError && e.reason === reason && certificateAlert(e.reason) === alert;
}

/** Counts releases so tests can see that no secret is left behind. */
class CountingProvider extends SoftwareCryptoProvider {
  released = 0;
  override release(handle: Parameters<CryptoProvider["release"]>[0]): Promise<void> {
    this.released++;
    return super.release(handle);
  }
}

async function expectFailure(
  options: ServerHandshakeOptions,
  check: (e: unknown) => boolean,
  config: Partial<ClientHandshakeConfig> = {},
): Promise<void> {
  await assert.rejects(() => run(new ServerHandshake(options), config), check);
}

for (const suite of Object.values(CipherSuites)) {
  for (const encryptThenMac of [true, false]) {
    for (const extendedMasterSecret of [true, false]) {
      Deno.test(`ClientHandshake: full handshake ${suite.name} EtM=${encryptThenMac} EMS=${extendedMasterSecret}`, async () => {
        const server = new ServerHandshake({
          suite: suite.id,
          encryptThenMac,
          extendedMasterSecret,
        });
        const { info } = await run(server);
        assert.equal(info.suite, suite);
        assert.equal(info.encryptThenMac, encryptThenMac && suite.kind === "cbc");
        assert.equal(info.extendedMasterSecret, extendedMasterSecret);
        assert.equal(info.resumed, false);
        assert.equal(info.secureRenegotiation, true);
        assert.equal(info.peerCertificates[0]!.subject.toString(), "CN=localhost,O=anchortls test");
        assert.equal(info.session !== undefined, extendedMasterSecret);
      });
    }
  }
}

Deno.test("ClientHandshake: EtM is not offered when disabled, and then not used", async () => {
  const { info } = await run(new ServerHandshake(), { encryptThenMac: false });
  assert.equal(info.encryptThenMac, false);
});

Deno.test("ClientHandshake: ClientHello offers what the issue lists, and the chosen suite order", async () => {
  const hs = new ClientHandshake({
    provider: new SoftwareCryptoProvider(),
    trustAnchors,
    serverName: "localhost",
    suites: [CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA, CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA],
  });
  const [send] = await hs.start(0);
  const { decodeClientHello } = await import("./messages/client_hello.ts");
  const hello = decodeClientHello(splitMessages((send as { data: Uint8Array }).data)[0]!.body);
  assert.equal(hello.version, 0x0303);
  assert.deepEqual(hello.cipherSuites, [0x0035, 0x002f]);
  assert.deepEqual(hello.compressionMethods, [0]);
  assert.deepEqual(hello.extensions.map((e) => e.type), [0, 13, 22, 23, 0xff01, 35]);
  assert.equal(new TextDecoder().decode(hello.extensions[0]!.data.subarray(5)), "localhost");
});

Deno.test("ClientHandshake: no server_name for an IP literal, and the IP is checked", async () => {
  const server = new ServerHandshake();
  const hello = server.hello.bind(server);
  let offered: number[] = [];
  server.hello = (message) => {
    offered = decodeClientHello(message.body).extensions.map((e) => e.type);
    return hello(message);
  };
  const { info } = await run(server, { serverName: "127.0.0.1" });
  assert.equal(info.suite, DEFAULT_CIPHER_SUITES[0]);
  assert.ok(!offered.includes(ExtensionType.server_name), `extensions ${offered}`);
  assert.ok(offered.length > 0);
  // The leaf has IP:127.0.0.1 only: another address does not match.
  await assert.rejects(
    () => run(new ServerHandshake(), { serverName: "127.0.0.2" }),
    (e) => e instanceof CertificateError && e.reason === "hostname_mismatch",
  );
});

Deno.test("ClientHandshake: a known suite we did not offer (0x002F to an offer of 0x003D) is illegal_parameter", async () => {
  await expectFailure(
    { suite: 0x002f },
    isAlert(AlertDescription.illegal_parameter),
    { suites: [CipherSuites.TLS_RSA_WITH_AES_256_CBC_SHA256] },
  );
});

Deno.test("ClientHandshake: resumption by session ID, abbreviated handshake", async () => {
  const provider = new CountingProvider();
  const server = new ServerHandshake();
  const first = await run(server, { provider });
  assert.ok(first.info.session);
  const second = await run(server, { provider, session: first.info.session });
  assert.equal(second.info.resumed, true);
  assert.equal(second.info.session, first.info.session);
  assert.equal(second.info.suite, first.info.suite);
  assert.deepEqual(second.info.peerCertificates, first.info.peerCertificates);
});

Deno.test("ClientHandshake: a server that declines resumption gets a full handshake", async () => {
  const provider = new SoftwareCryptoProvider();
  const first = await run(new ServerHandshake(), { provider });
  const other = new ServerHandshake({ sessionId: new Uint8Array(32).fill(0x77) });
  const second = await run(other, { provider, session: first.info.session! });
  assert.equal(second.info.resumed, false);
  assert.deepEqual(second.info.session!.id, new Uint8Array(32).fill(0x77));
});

Deno.test("ClientHandshake: a session from another provider is not offered", async () => {
  const first = await run(new ServerHandshake());
  const server = new ServerHandshake();
  const second = await run(server, {
    provider: new SoftwareCryptoProvider(),
    session: first.info.session!,
  });
  assert.equal(second.info.resumed, false);
});

Deno.test("ClientHandshake: resumption without EMS or with another suite is refused", async () => {
  const provider = new SoftwareCryptoProvider();
  const server = new ServerHandshake();
  const { info } = await run(server, { provider });
  server.options = { extendedMasterSecret: false };
  await assert.rejects(
    () => run(server, { provider, session: info.session! }),
    isAlert(AlertDescription.handshake_failure),
  );
  server.options = { serverHello: (h) => ({ ...h, cipherSuite: 0x0035 }) };
  await assert.rejects(
    () => run(server, { provider, session: info.session! }),
    isAlert(AlertDescription.illegal_parameter),
  );
});

Deno.test("ClientHandshake: client authentication with RSA key, PKCS#1 and PSS", async () => {
  const chain = parsePem(await readFixedPki("client.pem"));
  const provider = await SoftwareCryptoProvider.create({
    clientCertificate: { chain, privateKey: await readFixedPki("client.key") },
  });
  for (const scheme of [SignatureScheme.rsa_pkcs1_sha256, SignatureScheme.rsa_pss_rsae_sha256]) {
    const server = new ServerHandshake({ certificateRequest: { schemes: [0x0403, scheme] } });
    const { info } = await run(server, { provider });
    assert.equal(info.clientCertificateSent, true);
    assert.deepEqual(server.clientCertificate, chain);
    assert.equal(server.clientSignatureScheme, scheme);
  }
});

Deno.test("ClientHandshake: without a usable client key an empty Certificate is sent", async () => {
  const server = new ServerHandshake({ certificateRequest: { schemes: [0x0401] } });
  const { info } = await run(server);
  assert.equal(info.clientCertificateSent, false);
  assert.deepEqual(server.clientCertificate, []);
  assert.equal(server.clientSignatureScheme, undefined);
});

Deno.test("ClientHandshake: ServerHello refusals carry the right alert", async () => {
  const cases: [string, ServerHandshakeOptions, number][] = [
    [
      "TLS 1.1",
      { serverHello: (h) => ({ ...h, version: 0x0302 }) },
      AlertDescription.protocol_version,
    ],
    [
      "TLS 1.3 number",
      { serverHello: (h) => ({ ...h, version: 0x0304 }) },
      AlertDescription.protocol_version,
    ],
    [
      "suite not offered",
      { serverHello: (h) => ({ ...h, cipherSuite: 0x0005 }) },
      AlertDescription.illegal_parameter,
    ],
    [
      "deflate",
      { serverHello: (h) => ({ ...h, compressionMethod: 1 }) },
      AlertDescription.illegal_parameter,
    ],
    [
      "unknown extension",
      { serverHello: (h) => ({ ...h, extensions: [{ type: 0x7777, data: new Uint8Array(1) }] }) },
      AlertDescription.unsupported_extension,
    ],
    [
      "non-empty renegotiation_info",
      {
        serverHello: (h) => ({
          ...h,
          extensions: [{
            type: ExtensionType.renegotiation_info,
            data: Uint8Array.of(12, ...new Uint8Array(12)),
          }],
        }),
      },
      AlertDescription.handshake_failure,
    ],
    [
      "malformed renegotiation_info (length byte past the data)",
      {
        serverHello: (h) => ({
          ...h,
          extensions: [{ type: ExtensionType.renegotiation_info, data: Uint8Array.of(5) }],
        }),
      },
      AlertDescription.handshake_failure,
    ],
    [
      "empty renegotiation_info body (not even its length byte)",
      {
        serverHello: (h) => ({
          ...h,
          extensions: [{ type: ExtensionType.renegotiation_info, data: new Uint8Array(0) }],
        }),
      },
      AlertDescription.handshake_failure,
    ],
    [
      "non-empty EMS",
      {
        serverHello: (h) => ({
          ...h,
          extensions: [{ type: ExtensionType.extended_master_secret, data: Uint8Array.of(0) }],
        }),
      },
      AlertDescription.decode_error,
    ],
  ];
  for (const [name, options, alert] of cases) {
    await assert.rejects(() => run(new ServerHandshake(options)), isAlert(alert), name);
  }
});

Deno.test("ClientHandshake: EtM echoed though not offered is unsupported_extension", async () => {
  const server = new ServerHandshake({
    serverHello: (h) => ({
      ...h,
      extensions: [...h.extensions, {
        type: ExtensionType.encrypt_then_mac,
        data: new Uint8Array(0),
      }],
    }),
  });
  await assert.rejects(
    () => run(server, { encryptThenMac: false }),
    isAlert(AlertDescription.unsupported_extension),
  );
});

Deno.test("ClientHandshake: messages out of order are unexpected_message", async () => {
  const done = encodeTlsHandshake(HandshakeType.server_hello_done, new Uint8Array(0));
  const ske = encodeTlsHandshake(HandshakeType.server_key_exchange, new Uint8Array(4));
  const cases: [string, (m: Uint8Array[]) => Uint8Array[]][] = [
    ["Certificate first", (m) => [m[1]!, m[0]!, ...m.slice(2)]],
    ["no Certificate", (m) => [m[0]!, done]],
    ["ServerKeyExchange", (m) => [m[0]!, m[1]!, ske, done]],
    ["two ServerHellos", (m) => [m[0]!, m[0]!, ...m.slice(1)]],
    [
      "Finished early",
      (m) => [m[0]!, m[1]!, encodeTlsHandshake(HandshakeType.finished, new Uint8Array(12))],
    ],
    [
      "NewSessionTicket",
      (
        m,
      ) => [
        m[0]!,
        m[1]!,
        encodeTlsHandshake(HandshakeType.new_session_ticket, new Uint8Array(6)),
        done,
      ],
    ],
    [
      "ClientHello from server",
      (m) => [m[0]!, encodeTlsHandshake(HandshakeType.client_hello, new Uint8Array(40))],
    ],
  ];
  for (const [name, firstFlight] of cases) {
    await assert.rejects(
      () => run(new ServerHandshake({ suite: 0x003c, firstFlight })),
      isAlert(AlertDescription.unexpected_message),
      name,
    );
  }
  // ECDHE: ServerHello, Certificate, ServerKeyExchange, ServerHelloDone, and nothing else.
  const ecdhe: [string, (m: Uint8Array[]) => Uint8Array[]][] = [
    ["no ServerKeyExchange", (m) => [m[0]!, m[1]!, m[3]!]],
    ["ServerKeyExchange before Certificate", (m) => [m[0]!, m[2]!, m[1]!, m[3]!]],
    ["two ServerKeyExchanges", (m) => [m[0]!, m[1]!, m[2]!, m[2]!, m[3]!]],
  ];
  for (const [name, firstFlight] of ecdhe) {
    await assert.rejects(
      () => run(new ServerHandshake({ suite: 0xc02b, firstFlight })),
      isAlert(AlertDescription.unexpected_message),
      name,
    );
  }
});

Deno.test("ClientHandshake: ChangeCipherSpec too early, or malformed", async () => {
  const hs = new ClientHandshake({ provider: new SoftwareCryptoProvider(), trustAnchors });
  await hs.start(0);
  await assert.rejects(
    () => feedRecord(hs, { type: CCS, data: Uint8Array.of(1), now: 0 }),
    isAlert(AlertDescription.unexpected_message),
  );
  const hs2 = new ClientHandshake({ provider: new SoftwareCryptoProvider(), trustAnchors });
  await hs2.start(0);
  await assert.rejects(
    () => feedRecord(hs2, { type: CCS, data: Uint8Array.of(1, 1), now: 0 }),
    isAlert(AlertDescription.decode_error),
  );
});

Deno.test("ClientHandshake: a wrong server Finished is decrypt_error and secrets are released", async () => {
  const provider = new CountingProvider();
  await expectFailure({ badFinished: true }, isAlert(AlertDescription.decrypt_error), { provider });
  assert.equal(provider.released, 2); // premaster after the master secret, master on failure
});

Deno.test("ClientHandshake: certificate problems fail before the key exchange", async () => {
  const provider = new CountingProvider();
  await expectFailure({}, isCertificateError("hostname_mismatch", 42), {
    serverName: "example.com",
    provider,
  });
  const otherRoot = parseCertificateChain(parsePem(await readFixedPki("other-root.pem")));
  await expectFailure({}, isCertificateError("unknown_issuer", 48), {
    trustAnchors: otherRoot,
    provider,
  });
  const expired = (await readFixedPki("expired.pem")) + (await readFixedPki("intermediate.pem"));
  await expectFailure({ chain: parsePem(expired) }, isCertificateError("expired", 45), {
    provider,
  });
  await expectFailure({ chain: [] }, isAlert(AlertDescription.bad_certificate), { provider });
  assert.equal(provider.released, 0, "no premaster was ever made");
});

Deno.test("ClientHandshake: handshake bytes one at a time, HelloRequest mid-handshake ignored", async () => {
  const server = new ServerHandshake();
  const hs = new ClientHandshake({
    provider: new SoftwareCryptoProvider(),
    trustAnchors,
    serverName: "localhost",
  });
  const [hello] = await hs.start(Date.now());
  const { messages } = await server.hello(splitMessages((hello as { data: Uint8Array }).data)[0]!);
  const bytes = concat([
    messages[0]!,
    encodeTlsHandshake(HandshakeType.hello_request, new Uint8Array(0)),
    ...messages.slice(1),
  ]);
  const actions: HandshakeAction[] = [];
  for (const b of bytes) {
    actions.push(...await feedRecord(hs, { type: HS, data: Uint8Array.of(b), now: Date.now() }));
  }
  const sent = actions.flatMap((a) => a.kind === "send" && a.contentType === HS ? [a.data] : []);
  const finished = await server.clientFlight(splitMessages(concat(sent)));
  await feedRecord(hs, { type: CCS, data: Uint8Array.of(1), now: Date.now() });
  const last = await feedRecord(hs, { type: HS, data: finished, now: Date.now() });
  assert.equal(last.at(-1)?.kind, "complete");
  assert.equal(hs.isComplete, true);
});

Deno.test("ClientHandshake: after completion HelloRequest gets a no_renegotiation warning", async () => {
  const { handshake } = await run(new ServerHandshake());
  const actions = await feedRecord(handshake, {
    type: HS,
    data: encodeTlsHandshake(HandshakeType.hello_request, new Uint8Array(0)),
    now: Date.now(),
  });
  assert.deepEqual(actions, [{ kind: "send", contentType: 21, data: Uint8Array.of(1, 100) }]);
  await assert.rejects(
    () =>
      feedRecord(handshake, {
        type: HS,
        data: encodeTlsHandshake(HandshakeType.server_hello, new Uint8Array(0)),
        now: 0,
      }),
    isAlert(AlertDescription.unexpected_message),
  );
});

Deno.test("ClientHandshake: corrupted first flights end in typed errors only", async () => {
  const seed = 0x7e57;
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const server = new ServerHandshake();
  const hs0 = new ClientHandshake({ provider: new SoftwareCryptoProvider(), trustAnchors });
  const [hello] = await hs0.start(Date.now());
  const { messages } = await server.hello(splitMessages((hello as { data: Uint8Array }).data)[0]!);
  const flight = concat(messages);
  // Most flips land in the certificates; aim half of them at the ServerHello and headers.
  for (let i = 0; i < 150; i++) {
    const bytes = flight.slice();
    const at = i % 2 === 0 ? Math.floor(next() * 120) : Math.floor(next() * bytes.length);
    bytes[at] = bytes[at]! ^ (1 + Math.floor(next() * 255));
    const hs = new ClientHandshake({
      provider: new SoftwareCryptoProvider(),
      trustAnchors,
      serverName: "localhost",
    });
    await hs.start(Date.now());
    try {
      await feedRecord(hs, { type: HS, data: bytes, now: Date.now() });
    } catch (error) {
      assert.ok(
        error instanceof TlsAlertError || error instanceof CertificateError,
        `seed ${seed} case ${i} byte ${at}: ${error}`,
      );
    }
  }
});

/** A software provider that reports chip-like record requirements. */
class ConstrainedProvider extends SoftwareCryptoProvider {
  readonly recordRequirements = {
    maxPlaintext: 2048,
    encryptThenMac: true,
    encryptThenMacReason: "test requires it (set allowIt)",
  };
}

Deno.test("ClientHandshake: a provider's record requirements offer MFL and RSL, cap what we send, and demand EtM", async () => {
  let offered: readonly { type: number; data: Uint8Array }[] = [];
  const server = new ServerHandshake({
    serverHello: (hello) => {
      // Echo max_fragment_length as RFC 6066 says; the server sends no record_size_limit.
      const mfl = offered.find((e) => e.type === ExtensionType.max_fragment_length);
      return { ...hello, extensions: [...hello.extensions, ...(mfl ? [mfl] : [])] };
    },
  });
  const hello = server.hello.bind(server);
  server.hello = (message) => {
    offered = decodeClientHello(message.body).extensions;
    return hello(message);
  };
  const { info, actions } = await run(server, { provider: new ConstrainedProvider() });
  assert.deepEqual(
    offered.filter((e) => e.type === 1 || e.type === 28).map((e) => [e.type, e.data.toHex()]),
    [[1, "03"], [28, "0800"]],
  );
  assert.deepEqual(info.fragmentLimits, {
    send: 2048,
    receive: 2048,
    negotiatedBy: "max_fragment_length",
  });
  const write = actions.find((a) => a.kind === "install_write");
  assert.ok(write?.kind === "install_write" && write.maxPlaintext === 2048);

  // Without EtM from the server: refused at the ServerHello, with the reason and the opt-in.
  // (EtM is about CBC records: the server picks a CBC suite.)
  await expectFailure(
    { encryptThenMac: false, suite: 0x003c },
    (e) => isAlert(AlertDescription.handshake_failure)(e) && /allowIt/.test(String(e)),
    { provider: new ConstrainedProvider() },
  );
  assert.throws(
    () =>
      new ClientHandshake({
        provider: new ConstrainedProvider(),
        trustAnchors,
        encryptThenMac: false,
      }),
    TypeError,
  );
});

Deno.test("ClientHandshake: without a server answer, our records are still capped at what the provider can seal", async () => {
  const { info, actions } = await run(new ServerHandshake(), {
    provider: new ConstrainedProvider(),
    maxFragmentLength: false,
    recordSizeLimit: false,
  });
  assert.deepEqual(info.fragmentLimits, { send: 2048, receive: 16384, negotiatedBy: "none" });
  const read = actions.find((a) => a.kind === "install_read");
  assert.ok(read?.kind === "install_read" && read.maxPlaintext === 16384);
});

Deno.test("ClientHandshake: a server certificate without keyEncipherment fails with key_usage (alert 43) before any ClientKeyExchange", async () => {
  class WatchingProvider extends SoftwareCryptoProvider {
    premasters = 0;
    override encryptPremaster(
      ...args: Parameters<SoftwareCryptoProvider["encryptPremaster"]>
    ): ReturnType<SoftwareCryptoProvider["encryptPremaster"]> {
      this.premasters++;
      return super.encryptPremaster(...args);
    }
  }
  const provider = new WatchingProvider();
  const chain = parsePem(
    (await readFixedPki("wrong-ku.pem")) + (await readFixedPki("intermediate.pem")),
  );
  await expectFailure(
    { chain, suite: 0x003c },
    isCertificateError("key_usage", AlertDescription.unsupported_certificate),
    { provider },
  );
  assert.equal(provider.premasters, 0, "no premaster was made, so no ClientKeyExchange");
});

Deno.test("parseServerName: one answer to 'is this an IP literal' — x509's parser", async () => {
  const { parseServerName, isIpLiteral } = await import("./server_name.ts");
  assert.deepEqual(parseServerName("localhost."), { kind: "dns", name: "localhost" });
  assert.deepEqual(parseServerName("[::1]"), { kind: "ip", address: "::1" });
  assert.deepEqual(parseServerName("10.1.2.3"), { kind: "ip", address: "10.1.2.3" });
  // Not addresses: the old pattern took each of these for one.
  for (const name of ["999.1.1.1", "a:b", "1.2.3.4.5"]) {
    assert.equal(isIpLiteral(name), false, name);
  }
});

Deno.test("ClientHandshake: ALPN offers our list in order and reports the server's choice", async () => {
  const server = new ServerHandshake({ alpnProtocols: ["h2", "http/1.1"] });
  const { info } = await run(server, { alpnProtocols: ["mqtt", "http/1.1"] });
  assert.deepEqual(server.clientAlpnProtocols, ["mqtt", "http/1.1"]);
  assert.equal(info.alpnProtocol, "http/1.1");
  // Not offered, so never in the ClientHello or the result.
  const plain = new ServerHandshake({ alpnProtocols: ["h2"] });
  const { info: none } = await run(plain);
  assert.equal(plain.clientAlpnProtocols, undefined);
  assert.equal(none.alpnProtocol, undefined);
  // Offered, but the server speaks none of them: it may go on without ALPN.
  const { info: unmatched } = await run(new ServerHandshake({ alpnProtocols: ["h2"] }), {
    alpnProtocols: ["mqtt"],
  });
  assert.equal(unmatched.alpnProtocol, undefined);
});

Deno.test("ClientHandshake: an ALPN answer we did not offer, or a malformed one, ends the handshake", async () => {
  const alpn = (data: Uint8Array) => (h: ServerHello): ServerHello => ({
    ...h,
    extensions: [...h.extensions, {
      type: ExtensionType.application_layer_protocol_negotiation,
      data,
    }],
  });
  const names = (...list: string[]) => {
    const bytes = list.map((n) => new TextEncoder().encode(n));
    const body = bytes.flatMap((b) => [b.length, ...b]);
    return Uint8Array.of(body.length >> 8, body.length & 0xff, ...body);
  };
  // A protocol we did not offer.
  await expectFailure(
    { serverHello: alpn(names("h2")) },
    isAlert(AlertDescription.illegal_parameter),
    { alpnProtocols: ["http/1.1"] },
  );
  // ALPN when we offered none: an extension we did not send.
  await expectFailure(
    { serverHello: alpn(names("h2")) },
    isAlert(AlertDescription.unsupported_extension),
  );
  // Two names, an empty name, an empty list, a length that overruns.
  for (
    const data of [names("a", "b"), names(""), Uint8Array.of(0, 0), Uint8Array.of(0, 5, 1, 0x61)]
  ) {
    await expectFailure(
      { serverHello: alpn(data) },
      isAlert(AlertDescription.decode_error),
      { alpnProtocols: ["a", "b"] },
    );
  }
});

Deno.test("ClientHandshake: bad alpnProtocols are a TypeError before anything is sent", () => {
  const config = { provider: new SoftwareCryptoProvider(), trustAnchors };
  for (const alpnProtocols of [[], [""], ["x".repeat(256)], ["h2", "h2"]]) {
    assert.throws(() => new ClientHandshake({ ...config, alpnProtocols }), TypeError);
  }
});

Deno.test("ClientHandshake: keyLog gets one NSS line per handshake, full and resumed, with the server's master secret", async () => {
  const provider = new SoftwareCryptoProvider();
  const server = new ServerHandshake();
  const lines: string[] = [];
  const keyLog = (line: string) => lines.push(line);
  const first = await run(server, { provider, keyLog });
  const full = `CLIENT_RANDOM ${server.clientHello.random.toHex()} ${server.master!.toHex()}`;
  const second = await run(server, { provider, keyLog, session: first.info.session! });
  assert.equal(second.info.resumed, true);
  // The resumed handshake pairs its new client random with the session's master secret.
  const resumed = `CLIENT_RANDOM ${server.clientHello.random.toHex()} ${server.master!.toHex()}`;
  assert.deepEqual(lines, [full, resumed]);
  assert.notEqual(full, resumed);
  assert.match(lines[0]!, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
});

Deno.test("ClientHandshake: keyLog is refused, with the reason, where the master secret cannot leave the provider", () => {
  const keyLog = () => {};
  const inChip = new SoftwareCryptoProvider();
  Object.defineProperty(inChip, "placement", { value: { masterSecret: "chip" } });
  assert.throws(
    () => new ClientHandshake({ provider: inChip, trustAnchors, keyLog }),
    (e: unknown) =>
      e instanceof TypeError && /keyLog is refused: .*never leaves it/.test(e.message),
  );
  const silent = new SoftwareCryptoProvider();
  Object.defineProperty(silent, "revealMasterSecret", { value: undefined });
  assert.throws(
    () => new ClientHandshake({ provider: silent, trustAnchors, keyLog }),
    /does not reveal master secrets/,
  );
  // Without a key log, either provider is fine.
  new ClientHandshake({ provider: inChip, trustAnchors });
});
