/**
 * Handshake message target: `TlsHandshakeDeframer` on the plaintext of handshake records, then
 * each message's decoder by type (ClientHello as TLS and as DTLS, ServerHello, HelloVerifyRequest,
 * NewSessionTicket, Certificate, CertificateRequest, ServerHelloDone, CertificateVerify,
 * ClientKeyExchange, Finished). Oracles: whole, uneven (1 to 34 bytes) and 7-byte chunks give the
 * same messages and the same refusal; every decoded message re-encodes to its body (an empty
 * extensions block may be dropped); refusals are `TlsAlertError`s.
 *
 * @module
 */

import { TlsAlertError } from "@anchortls/record";
import {
  decodeCertificate,
  decodeCertificateRequest,
  decodeCertificateVerify,
  decodeClientHello,
  decodeClientKeyExchange,
  decodeEmptyMessage,
  decodeFinished,
  decodeHelloVerifyRequest,
  decodeNewSessionTicket,
  decodeServerHello,
  encodeCertificate,
  encodeCertificateRequest,
  encodeCertificateVerify,
  encodeClientHello,
  encodeClientKeyExchange,
  encodeHelloVerifyRequest,
  encodeNewSessionTicket,
  encodeServerHello,
  type Extension,
  type HandshakeMessage,
  HandshakeType,
  TlsHandshakeDeframer,
} from "@anchortls/handshake";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

/** Re-encoding drops an empty extensions block (two zero bytes); all else must match. */
function reencodes(
  body: Uint8Array,
  again: Uint8Array,
  extensions?: readonly Extension[],
): boolean {
  if (sameBytes(again, body)) return true;
  return extensions?.length === 0 && body.length === again.length + 2 &&
    sameBytes(body.subarray(0, again.length), again) && body.at(-1) === 0 && body.at(-2) === 0;
}

/** Decodes one message by type and checks its re-encoding; returns a label. */
function decodeMessage(type: number, body: Uint8Array): string {
  switch (type) {
    case HandshakeType.client_hello: {
      let forms = 0;
      for (const dtls of [false, true]) {
        try {
          const hello = decodeClientHello(body, { dtls });
          check(reencodes(body, encodeClientHello(hello), hello.extensions), "ClientHello");
          forms++;
        } catch (error) {
          if (!(error instanceof TlsAlertError)) throw error;
        }
      }
      return `ClientHello ${forms}`;
    }
    case HandshakeType.server_hello: {
      const hello = decodeServerHello(body);
      check(reencodes(body, encodeServerHello(hello), hello.extensions), "ServerHello");
      return `ServerHello ${hello.extensions.length}`;
    }
    case HandshakeType.hello_verify_request:
      check(reencodes(body, encodeHelloVerifyRequest(decodeHelloVerifyRequest(body))), "HVR");
      return "HelloVerifyRequest";
    case HandshakeType.new_session_ticket:
      check(reencodes(body, encodeNewSessionTicket(decodeNewSessionTicket(body))), "ticket");
      return "NewSessionTicket";
    case HandshakeType.certificate: {
      const chain = decodeCertificate(body);
      check(reencodes(body, encodeCertificate(chain)), "Certificate");
      return `Certificate ${Math.min(chain.length, 3)}`;
    }
    case HandshakeType.certificate_request:
      check(
        reencodes(body, encodeCertificateRequest(decodeCertificateRequest(body))),
        "CertificateRequest",
      );
      return "CertificateRequest";
    case HandshakeType.server_hello_done:
      decodeEmptyMessage(body, "ServerHelloDone");
      return "ServerHelloDone";
    case HandshakeType.certificate_verify:
      check(reencodes(body, encodeCertificateVerify(decodeCertificateVerify(body))), "CV");
      return "CertificateVerify";
    case HandshakeType.client_key_exchange:
      check(reencodes(body, encodeClientKeyExchange(decodeClientKeyExchange(body))), "CKE");
      return "ClientKeyExchange";
    case HandshakeType.finished:
      check(sameBytes(decodeFinished(body), body), "Finished");
      return "Finished";
    default:
      return "unknown type";
  }
}

interface Deframed {
  readonly messages: HandshakeMessage[];
  readonly end: string;
}

/** Chunk sizes for uneven feeding: short and long pieces in turn. */
const uneven = [1, 2, 3, 5, 8, 13, 21, 34, 1, 1];

function deframe(input: Uint8Array, chunks: readonly number[]): Deframed {
  const deframer = new TlsHandshakeDeframer();
  const messages: HandshakeMessage[] = [];
  try {
    for (let at = 0, i = 0; at < input.length; i++) {
      const size = chunks[i % chunks.length]!;
      deframer.push(input.subarray(at, at + size));
      at += size;
      for (let m = deframer.next(); m; m = deframer.next()) messages.push(m);
    }
    return { messages, end: deframer.hasPartialMessage ? "partial" : "end" };
  } catch (error) {
    if (!(error instanceof TlsAlertError)) throw error;
    return { messages, end: `alert ${error.description} ${error.message}` };
  }
}

const describe = (d: Deframed): string =>
  [...d.messages.map((m) => m.transcriptBytes.toHex()), d.end].join();

const target: FuzzTarget = {
  name: "handshake_message",
  corpus: "handshake_message",
  maxInputLength: 8192,
  run(input) {
    const whole = deframe(input, [Math.max(1, input.length)]);
    for (const chunks of [uneven, [7]]) {
      check(describe(deframe(input, chunks)) === describe(whole), `chunks ${chunks} differ`);
    }
    const labels: string[] = [];
    for (const message of whole.messages) {
      check(message.transcriptBytes[0] === message.type, "type is not the first byte");
      check(
        sameBytes(message.transcriptBytes.subarray(4), message.body),
        "body is not the transcript bytes after the header",
      );
      try {
        labels.push(decodeMessage(message.type, message.body));
      } catch (error) {
        if (!(error instanceof TlsAlertError)) throw error;
        labels.push(`refused ${message.type} ${error.description}`);
      }
    }
    return [...labels.slice(0, 4), whole.end.split(" ").slice(0, 2).join(" ")].join();
  },
  expected: (error) => error instanceof TlsAlertError,
};

export default target;
