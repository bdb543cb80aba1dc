import assert from "node:assert/strict";
import { TlsAlertError } from "@anchortls/record";
import { decodeAlert } from "./alert_message.ts";
import { decodeCertificate, encodeCertificate } from "./certificate.ts";
import { decodeCertificateRequest, encodeCertificateRequest } from "./certificate_request.ts";
import { decodeClientHello } from "./client_hello.ts";
import { TlsHandshakeDeframer } from "./framing.ts";
import { decodeServerHello, encodeServerHello } from "./server_hello.ts";
import {
  decodeCertificateVerify,
  decodeClientKeyExchange,
  decodeFinished,
  decodeNewSessionTicket,
} from "./simple_messages.ts";

/** xorshift32: reproducible input from a printed seed. */
function random(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const decoders: [string, (b: Uint8Array) => unknown, Uint8Array][] = [
  [
    "ServerHello",
    decodeServerHello,
    encodeServerHello({
      version: 0x0303,
      random: new Uint8Array(32),
      sessionId: new Uint8Array(32),
      cipherSuite: 0x002f,
      compressionMethod: 0,
      extensions: [{ type: 23, data: new Uint8Array(0) }, { type: 0xff01, data: Uint8Array.of(0) }],
    }),
  ],
  ["ClientHello", decodeClientHello, new Uint8Array(0)],
  ["Certificate", decodeCertificate, encodeCertificate([new Uint8Array(40), new Uint8Array(9)])],
  [
    "CertificateRequest",
    decodeCertificateRequest,
    encodeCertificateRequest({
      certificateTypes: [1],
      signatureSchemes: [0x0401, 0x0804],
      certificateAuthorities: [new Uint8Array(12)],
    }),
  ],
  ["ClientKeyExchange", decodeClientKeyExchange, new Uint8Array(0)],
  ["CertificateVerify", decodeCertificateVerify, new Uint8Array(0)],
  ["Finished", decodeFinished, new Uint8Array(12)],
  ["NewSessionTicket", decodeNewSessionTicket, new Uint8Array(0)],
  ["alert", decodeAlert, Uint8Array.of(2, 40)],
];

for (const [name, decode, valid] of decoders) {
  Deno.test(`fuzz: ${name} decoder ends every input in success or a TlsAlertError`, () => {
    const seed = 0x5eed0000 + name.length;
    const next = random(seed);
    for (let i = 0; i < 3000; i++) {
      let input: Uint8Array;
      if (valid.length > 0 && i % 2 === 0) {
        input = valid.slice();
        for (let flips = 1 + Math.floor(next() * 3); flips > 0; flips--) {
          input[Math.floor(next() * input.length)] = Math.floor(next() * 256);
        }
      } else {
        input = new Uint8Array(Math.floor(next() * 120)).map(() => Math.floor(next() * 256));
      }
      try {
        decode(input);
      } catch (error) {
        assert.ok(
          error instanceof TlsAlertError,
          `seed ${seed} case ${i} input ${input.toHex()}: ${error}`,
        );
      }
    }
  });
}

Deno.test("fuzz: the handshake deframer never throws anything but a TlsAlertError", () => {
  const seed = 0x5eed1234;
  const next = random(seed);
  for (let i = 0; i < 500; i++) {
    const deframer = new TlsHandshakeDeframer(1000);
    try {
      for (let chunk = 0; chunk < 5; chunk++) {
        deframer.push(
          new Uint8Array(1 + Math.floor(next() * 40)).map(() => Math.floor(next() * 256)),
        );
        while (deframer.next());
      }
    } catch (error) {
      assert.ok(error instanceof TlsAlertError, `seed ${seed} case ${i}: ${error}`);
    }
  }
});
