import assert from "node:assert/strict";
import { AlertDescription, TlsAlertError } from "@anchortls/record";
import { decodeAlert, encodeAlert } from "./alert_message.ts";
import { decodeCertificate, encodeCertificate } from "./certificate.ts";
import { decodeCertificateRequest, encodeCertificateRequest } from "./certificate_request.ts";
import { type ClientHello, decodeClientHello, encodeClientHello } from "./client_hello.ts";
import { ExtensionType } from "./extensions.ts";
import { decodeServerHello, encodeServerHello, type ServerHello } from "./server_hello.ts";
import {
  decodeCertificateVerify,
  decodeClientKeyExchange,
  decodeEmptyMessage,
  decodeFinished,
  decodeNewSessionTicket,
  encodeCertificateVerify,
  encodeClientKeyExchange,
  encodeNewSessionTicket,
} from "./simple_messages.ts";

function isAlert(code: number): (e: unknown) => boolean {
  return (e) => e instanceof TlsAlertError && e.description === code;
}

/**
 * The three checks every codec gets: round trip to identical bytes, every truncation refused
 * (except where the grammar makes a prefix whole, e.g. a hello without its extension block),
 * and one trailing byte refused.
 */
function checkCodec<T>(
  bytes: Uint8Array,
  decode: (b: Uint8Array) => T,
  encode: (v: T) => Uint8Array,
  validPrefixes: number[] = [],
): T {
  const value = decode(bytes);
  assert.deepEqual(encode(value), bytes);
  for (let n = 0; n < bytes.length; n++) {
    if (validPrefixes.includes(n)) continue;
    assert.throws(
      () => decode(bytes.subarray(0, n)),
      isAlert(AlertDescription.decode_error),
      `prefix ${n}`,
    );
  }
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.throws(() => decode(longer), isAlert(AlertDescription.decode_error), "trailing byte");
  return value;
}

const clientHello: ClientHello = {
  version: 0x0303,
  random: new Uint8Array(32).map((_, i) => i),
  sessionId: new Uint8Array(32).fill(0xaa),
  cipherSuites: [0x003d, 0x003c, 0x0035, 0x002f],
  compressionMethods: [0],
  extensions: [
    { type: ExtensionType.server_name, data: Uint8Array.fromHex("000c0000096c6f63616c686f7374") },
    { type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) },
    { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) },
    { type: ExtensionType.renegotiation_info, data: Uint8Array.of(0) },
  ],
};

Deno.test("ClientHello: round trip, truncations, trailing data", () => {
  const bytes = encodeClientHello(clientHello);
  const fixedLength = 2 + 32 + 33 + 2 + 8 + 2;
  const decoded = checkCodec(bytes, decodeClientHello, encodeClientHello, [fixedLength]);
  assert.deepEqual(decoded, clientHello);
  assert.deepEqual(decodeClientHello(bytes.subarray(0, fixedLength)).extensions, []);
});

Deno.test("ClientHello: DTLS cookie field round-trips", () => {
  const hello = { ...clientHello, version: 0xfefd, cookie: new Uint8Array(20).fill(7) };
  const bytes = encodeClientHello(hello);
  assert.deepEqual(decodeClientHello(bytes, { dtls: true }), hello);
});

Deno.test("ClientHello: odd-length suite list is a decode_error", () => {
  const bytes = Uint8Array.fromHex("0303" + "00".repeat(32) + "00" + "0003002f00" + "0100");
  assert.throws(() => decodeClientHello(bytes), isAlert(AlertDescription.decode_error));
});

const serverHello: ServerHello = {
  version: 0x0303,
  random: new Uint8Array(32).fill(0x11),
  sessionId: new Uint8Array(32).fill(0x22),
  cipherSuite: 0x002f,
  compressionMethod: 0,
  extensions: [
    { type: ExtensionType.renegotiation_info, data: Uint8Array.of(0) },
    { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) },
    { type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) },
  ],
};

Deno.test("ServerHello: round trip, truncations, trailing data", () => {
  const bytes = encodeServerHello(serverHello);
  const fixedLength = 2 + 32 + 33 + 3;
  assert.deepEqual(
    checkCodec(bytes, decodeServerHello, encodeServerHello, [fixedLength]),
    serverHello,
  );
});

Deno.test("ServerHello: a real OpenSSL 3.0 ServerHello decodes and re-encodes", () => {
  // Captured with `openssl s_client -msg` from `openssl s_server -tls1_2 -cipher AES128-SHA`
  // (body without the 4-byte handshake header; s_client had offered a session ticket).
  const bytes = Uint8Array.fromHex(
    "0303f838fd0ba9fe553f6729b51adb06041dc47a30da56bc36cbe83c35dd569d4c00" +
      "00" + "002f" + "00" + "0011" + "ff01000100" + "00230000" + "00160000" + "00170000",
  );
  const hello = decodeServerHello(bytes);
  assert.equal(hello.cipherSuite, 0x002f);
  assert.equal(hello.sessionId.length, 0);
  assert.deepEqual(hello.extensions.map((e) => e.type), [0xff01, 35, 22, 23]);
  assert.deepEqual(encodeServerHello(hello), bytes);
});

Deno.test("ServerHello: duplicate extension is illegal_parameter", () => {
  const hello = {
    ...serverHello,
    extensions: [
      { type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) },
      { type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) },
    ],
  };
  assert.throws(
    () => decodeServerHello(encodeServerHello(hello)),
    isAlert(AlertDescription.illegal_parameter),
  );
});

Deno.test("ServerHello: session id longer than 32 bytes is a decode_error", () => {
  const bytes = encodeServerHello({ ...serverHello, sessionId: new Uint8Array(33) });
  assert.throws(() => decodeServerHello(bytes), isAlert(AlertDescription.decode_error));
});

Deno.test("Certificate: round trip, truncations, trailing data, empty entry", () => {
  const chain = [new Uint8Array(300).fill(1), new Uint8Array(5).fill(2)];
  assert.deepEqual(
    checkCodec(encodeCertificate(chain), decodeCertificate, encodeCertificate),
    chain,
  );
  assert.deepEqual(checkCodec(encodeCertificate([]), decodeCertificate, encodeCertificate), []);
  assert.throws(
    () => decodeCertificate(Uint8Array.fromHex("000003000000")),
    isAlert(AlertDescription.decode_error),
  );
});

Deno.test("CertificateRequest: round trip, truncations, trailing data", () => {
  const request = {
    certificateTypes: [1, 64],
    signatureSchemes: [0x0401, 0x0804, 0x0403],
    certificateAuthorities: [new Uint8Array(10).fill(3), new Uint8Array(1).fill(4)],
  };
  const bytes = encodeCertificateRequest(request);
  assert.deepEqual(checkCodec(bytes, decodeCertificateRequest, encodeCertificateRequest), request);
  const noCas = { ...request, certificateAuthorities: [] };
  checkCodec(encodeCertificateRequest(noCas), decodeCertificateRequest, encodeCertificateRequest);
});

Deno.test("ClientKeyExchange, CertificateVerify, NewSessionTicket: codec checks", () => {
  const ct = new Uint8Array(256).fill(9);
  assert.deepEqual(
    checkCodec(encodeClientKeyExchange(ct), decodeClientKeyExchange, encodeClientKeyExchange),
    ct,
  );
  const cv = { scheme: 0x0804, signature: new Uint8Array(256).fill(8) };
  assert.deepEqual(
    checkCodec(encodeCertificateVerify(cv), decodeCertificateVerify, encodeCertificateVerify),
    cv,
  );
  const nst = { lifetimeHint: 0x01020304, ticket: new Uint8Array(100).fill(6) };
  assert.deepEqual(
    checkCodec(encodeNewSessionTicket(nst), decodeNewSessionTicket, encodeNewSessionTicket),
    nst,
  );
});

Deno.test("Finished, ServerHelloDone, HelloRequest, alert: exact lengths", () => {
  assert.equal(decodeFinished(new Uint8Array(12)).length, 12);
  for (const n of [0, 11, 13]) {
    assert.throws(() => decodeFinished(new Uint8Array(n)), isAlert(AlertDescription.decode_error));
  }
  decodeEmptyMessage(new Uint8Array(0), "ServerHelloDone");
  assert.throws(
    () => decodeEmptyMessage(new Uint8Array(1), "ServerHelloDone"),
    isAlert(AlertDescription.decode_error),
  );
  const alert = { level: 1, description: 100 };
  assert.deepEqual(checkCodec(encodeAlert(alert), decodeAlert, encodeAlert), alert);
});
