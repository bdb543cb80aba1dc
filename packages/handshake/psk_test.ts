/**
 * PSK key exchange (RFC 4279, 5487, 5489, 6655) against the in-memory server: each suite, with
 * and without an identity hint, resumption bound to the key, and the server's misbehaviour
 * (a certificate, a CertificateRequest, a missing or foreign key share) with its alert.
 */

import assert from "node:assert/strict";
import { AlertDescription, CipherSuites, PskCipherSuites, TlsAlertError } from "@anchortls/record";
import { ServerHandshake, type ServerHandshakeOptions } from "@anchortls/testing";
import { ClientHandshake } from "./client_handshake.ts";
import { decodeClientHello } from "./messages/client_hello.ts";
import { encodeTlsHandshake } from "./messages/framing.ts";
import { HandshakeType } from "./messages/handshake_type.ts";
import { NamedGroup } from "./named_group.ts";
import { DEFAULT_PSK_SUITES, pskPremasterBytes } from "./psk.ts";
import { SoftwareCryptoProvider } from "./software_provider.ts";
import { run, trustAnchors } from "./_test_run.ts";

const key = Uint8Array.fromHex("00112233445566778899aabbccddeeff");
const psk = { identity: "device-17", key };
const server = (o: ServerHandshakeOptions = {}) =>
  new ServerHandshake({ psk: { key, identity: "device-17" }, ...o });

const isAlert = (code: number) => (e: unknown) =>
  e instanceof TlsAlertError && e.description === code && !e.fromPeer;

Deno.test("PSK premaster: other_secret of N zeros, or the ECDH secret, each with its length (RFC 4279 §2, RFC 5489 §2)", () => {
  assert.equal(pskPremasterBytes(Uint8Array.of(1, 2)).toHex(), "0002000000020102");
  assert.equal(
    pskPremasterBytes(Uint8Array.of(1, 2), Uint8Array.of(9, 9, 9)).toHex(),
    "00030909090002" + "0102",
  );
});

for (const suite of Object.values(PskCipherSuites)) {
  for (const hint of [undefined, new TextEncoder().encode("broker-hint")]) {
    Deno.test(`PSK: full handshake ${suite.name}${hint ? " with an identity hint" : ""}`, async () => {
      const s = server({ suite: suite.id, ...(hint ? { psk: { key, hint } } : {}) });
      const { info } = await run(s, { psk, trustAnchors: [] });
      assert.equal(info.suite, suite);
      assert.equal(info.extendedMasterSecret, true);
      assert.deepEqual(info.peerCertificates, []);
      assert.equal(s.pskIdentity, "device-17");
    });
  }
}

Deno.test("PSK: the default offer with a PSK is the PSK suites, forward-secret first; without one none is offered", async () => {
  const s = server();
  await run(s, { psk });
  assert.deepEqual(s.clientHello.cipherSuites, DEFAULT_PSK_SUITES.map((x) => x.id));
  const plain = new ClientHandshake({ provider: new SoftwareCryptoProvider(), trustAnchors });
  const [hello] = await plain.start(0);
  assert.ok(hello?.kind === "send");
  const offered = decodeClientHello(hello.data.subarray(4)).cipherSuites;
  assert.ok(!offered.some((id) => Object.values(PskCipherSuites).some((p) => p.id === id)));
  assert.throws(
    () =>
      new ClientHandshake({
        provider: new SoftwareCryptoProvider(),
        trustAnchors,
        suites: [PskCipherSuites.TLS_PSK_WITH_AES_128_CCM_8],
      }),
    /needs the `psk` option/,
  );
  for (const bad of [new Uint8Array(0), new Uint8Array(65)]) {
    assert.throws(
      () =>
        new ClientHandshake({
          provider: new SoftwareCryptoProvider(),
          trustAnchors,
          psk: { identity: "x", key: bad },
        }),
      TypeError,
    );
  }
  const noPsk = Object.assign(new SoftwareCryptoProvider(), { pskPremaster: undefined });
  assert.throws(
    () => new ClientHandshake({ provider: noPsk, trustAnchors, psk }),
    /cannot do PSK key exchange/,
  );
});

Deno.test("PSK: a session resumes with the same key and not with another", async () => {
  const provider = new SoftwareCryptoProvider();
  const s = server();
  const first = await run(s, { provider, psk });
  const session = first.info.session!;
  assert.equal((await run(s, { provider, psk, session })).info.resumed, true);
  const rotated = { identity: "device-17", key: new Uint8Array(16).fill(9) };
  const other = new ServerHandshake({ psk: { key: rotated.key } });
  other.sessions.set(session.id.toHex(), s.sessions.get(session.id.toHex())!);
  const again = await run(other, { provider, psk: rotated, session });
  assert.equal(again.info.resumed, false, "a rotated key does not resume the old key's session");
});

Deno.test("PSK: a certificate, a CertificateRequest, or a missing or foreign key share ends with the right alert", async () => {
  const certificate = encodeTlsHandshake(HandshakeType.certificate, Uint8Array.of(0, 0, 0));
  await assert.rejects(
    () => run(server({ firstFlight: (m) => [m[0]!, certificate, ...m.slice(1)] }), { psk }),
    isAlert(AlertDescription.unexpected_message),
    "Certificate",
  );
  await assert.rejects(
    () =>
      run(
        server({
          suite: PskCipherSuites.TLS_PSK_WITH_AES_128_GCM_SHA256.id,
          certificateRequest: { schemes: [0x0403] },
        }),
        { psk },
      ),
    isAlert(AlertDescription.unexpected_message),
    "CertificateRequest",
  );
  const ecdhePsk = PskCipherSuites.TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256.id;
  await assert.rejects(
    () => run(server({ suite: ecdhePsk, firstFlight: (m) => [m[0]!, m[m.length - 1]!] }), { psk }),
    isAlert(AlertDescription.unexpected_message),
    "ECDHE_PSK without its ServerKeyExchange",
  );
  await assert.rejects(
    () =>
      run(server({ suite: ecdhePsk, group: NamedGroup.secp384r1 }), {
        psk,
        groups: [NamedGroup.x25519],
      }),
    isAlert(AlertDescription.illegal_parameter),
    "a group we did not offer",
  );
  await assert.rejects(
    () =>
      run(server({ suite: ecdhePsk, serverPublicKey: new Uint8Array(32) }), {
        psk,
        groups: [NamedGroup.x25519],
      }),
    isAlert(AlertDescription.illegal_parameter),
    "an all-zero X25519 share",
  );
  // A PSK server's choice of a certificate suite we did not offer.
  await assert.rejects(
    () => run(server({ suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA.id }), { psk }),
    isAlert(AlertDescription.illegal_parameter),
  );
});
