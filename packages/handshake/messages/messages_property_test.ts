/**
 * Property tests of the handshake message codecs: ClientHello (TLS and DTLS), ServerHello,
 * HelloVerifyRequest, Certificate, CertificateRequest, ClientKeyExchange, CertificateVerify,
 * Finished, NewSessionTicket, alerts and extension blocks all round-trip; every truncation and
 * every trailing byte is refused; and any bytes (random or a valid message bent by one edit)
 * decode or are refused with a `TlsAlertError`, never another error.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Reader, TlsAlertError, Writer } from "@anchortls/record";
import { type AlertMessage, decodeAlert, encodeAlert } from "./alert_message.ts";
import { decodeCertificate, encodeCertificate } from "./certificate.ts";
import {
  type CertificateRequest,
  decodeCertificateRequest,
  encodeCertificateRequest,
} from "./certificate_request.ts";
import { type ClientHello, decodeClientHello, encodeClientHello } from "./client_hello.ts";
import { type Extension, readExtensions, writeExtensions } from "./extensions.ts";
import {
  decodeHelloVerifyRequest,
  encodeHelloVerifyRequest,
  type HelloVerifyRequest,
} from "./hello_verify_request.ts";
import { decodeServerHello, encodeServerHello, type ServerHello } from "./server_hello.ts";
import {
  type CertificateVerify,
  decodeCertificateVerify,
  decodeClientKeyExchange,
  decodeFinished,
  decodeNewSessionTicket,
  encodeCertificateVerify,
  encodeClientKeyExchange,
  encodeNewSessionTicket,
  type NewSessionTicket,
} from "./simple_messages.ts";

const runs = { seed: 0x4a5, numRuns: 200 };
const record = { noNullPrototype: true } as const;

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength });

const extensions: fc.Arbitrary<Extension[]> = fc.uniqueArray(
  fc.record({ type: u16, data: bytes(0, 40) }, record),
  { selector: (e) => e.type, maxLength: 6 },
);

const clientHello = (dtls: boolean): fc.Arbitrary<ClientHello> =>
  fc.record({
    version: u16,
    random: bytes(32, 32),
    sessionId: bytes(0, 32),
    cookie: dtls ? bytes(0, 255) : fc.constant(undefined),
    cipherSuites: fc.array(u16, { minLength: 1, maxLength: 30 }),
    compressionMethods: fc.array(u8, { minLength: 1, maxLength: 4 }),
    extensions,
  }, record).map(({ cookie, ...hello }) => (cookie ? { ...hello, cookie } : hello));

const serverHello: fc.Arbitrary<ServerHello> = fc.record({
  version: u16,
  random: bytes(32, 32),
  sessionId: bytes(0, 32),
  cipherSuite: u16,
  compressionMethod: u8,
  extensions,
}, record);

const certificateRequest: fc.Arbitrary<CertificateRequest> = fc.record({
  certificateTypes: fc.array(u8, { minLength: 1, maxLength: 5 }),
  signatureSchemes: fc.array(u16, { minLength: 1, maxLength: 10 }),
  certificateAuthorities: fc.array(bytes(1, 60), { maxLength: 4 }),
}, record);

/** One codec: how to make values, encode them and decode them back. */
interface Codec<T> {
  readonly name: string;
  readonly values: fc.Arbitrary<T>;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const codec = <T>(c: Codec<T>): Codec<unknown> => c as Codec<unknown>;

const codecs: Codec<unknown>[] = [
  codec({
    name: "ClientHello",
    values: clientHello(false),
    encode: encodeClientHello,
    decode: (b) => decodeClientHello(b),
  }),
  codec({
    name: "DTLS ClientHello",
    values: clientHello(true),
    encode: encodeClientHello,
    decode: (b) => decodeClientHello(b, { dtls: true }),
  }),
  codec({
    name: "ServerHello",
    values: serverHello,
    encode: encodeServerHello,
    decode: decodeServerHello,
  }),
  codec<HelloVerifyRequest>({
    name: "HelloVerifyRequest",
    values: fc.record({ version: u16, cookie: bytes(0, 255) }, record),
    encode: encodeHelloVerifyRequest,
    decode: decodeHelloVerifyRequest,
  }),
  codec<Uint8Array[]>({
    name: "Certificate",
    values: fc.array(bytes(1, 300), { maxLength: 4 }),
    encode: encodeCertificate,
    decode: decodeCertificate,
  }),
  codec({
    name: "CertificateRequest",
    values: certificateRequest,
    encode: encodeCertificateRequest,
    decode: decodeCertificateRequest,
  }),
  codec<Uint8Array>({
    name: "ClientKeyExchange",
    values: bytes(1, 512),
    encode: encodeClientKeyExchange,
    decode: decodeClientKeyExchange,
  }),
  codec<CertificateVerify>({
    name: "CertificateVerify",
    values: fc.record({ scheme: u16, signature: bytes(1, 512) }, record),
    encode: encodeCertificateVerify,
    decode: decodeCertificateVerify,
  }),
  codec<Uint8Array>({
    name: "Finished",
    values: bytes(12, 12),
    encode: (b) => b,
    decode: decodeFinished,
  }),
  codec<NewSessionTicket>({
    name: "NewSessionTicket",
    values: fc.record(
      { lifetimeHint: fc.nat({ max: 2 ** 32 - 1 }), ticket: bytes(0, 300) },
      record,
    ),
    encode: encodeNewSessionTicket,
    decode: decodeNewSessionTicket,
  }),
  codec<AlertMessage>({
    name: "alert",
    values: fc.record({ level: u8, description: u8 }, record),
    encode: encodeAlert,
    decode: decodeAlert,
  }),
  codec<Extension[]>({
    name: "extensions",
    values: extensions,
    encode: (list) => {
      const w = new Writer();
      writeExtensions(w, list);
      return w.finish();
    },
    decode: (b) => {
      const r = new Reader(b);
      const list = readExtensions(r);
      r.expectEnd("extensions");
      return list;
    },
  }),
];

/** Valid encodings bent by one edit, or random bytes. */
function bentOrRandom(c: Codec<unknown>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    bytes(0, 80),
    fc.tuple(c.values, fc.nat(), u8, fc.constantFrom("set", "insert", "delete")).map(
      ([value, where, byte, edit]) => {
        const wire = [...c.encode(value)];
        const at = wire.length ? where % wire.length : 0;
        if (edit === "set" && wire.length) wire[at] = byte;
        if (edit === "insert") wire.splice(at, 0, byte);
        if (edit === "delete") wire.splice(at, 1);
        return Uint8Array.from(wire);
      },
    ),
  );
}

/** The value with its optional extensions block dropped, when it has one to drop. */
function optionalTail(c: Codec<unknown>, value: unknown): unknown {
  if (c.name === "extensions") return (value as Extension[]).length ? [] : undefined;
  const hello = value as { extensions?: Extension[] };
  return hello.extensions?.length ? { ...hello, extensions: [] } : undefined;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function assertAlert(error: unknown, what: string): void {
  assert.ok(error instanceof TlsAlertError, `${what}: not a TlsAlertError: ${error}`);
}

for (const c of codecs) {
  Deno.test(`message property: ${c.name} round-trips`, () => {
    fc.assert(
      fc.property(c.values, (value) => {
        assert.deepEqual(c.decode(c.encode(value)), value);
      }),
      runs,
    );
  });

  Deno.test(`message property: ${c.name} refuses every truncation and trailing byte`, () => {
    fc.assert(
      fc.property(c.values, fc.nat(), u8, (value, cut, extra) => {
        const wire = c.encode(value);
        const short = wire.subarray(0, wire.length ? cut % wire.length : 0);
        if (short.length < wire.length) {
          // The extensions block is optional: a message cut right before it is still whole.
          const withoutExtensions = optionalTail(c, value);
          if (withoutExtensions && sameBytes(c.encode(withoutExtensions), short)) {
            assert.deepEqual(c.decode(short), withoutExtensions);
          } else {
            assert.throws(() => c.decode(short), (e) => {
              assertAlert(e, c.name);
              return true;
            });
          }
        }
        assert.throws(() => c.decode(Uint8Array.of(...wire, extra)), (e) => {
          assertAlert(e, c.name);
          return true;
        });
      }),
      runs,
    );
  });

  Deno.test(`message property: ${c.name} decodes any bytes or refuses with TlsAlertError`, () => {
    fc.assert(
      fc.property(bentOrRandom(c), (input) => {
        try {
          c.decode(input);
        } catch (error) {
          assertAlert(error, c.name);
        }
      }),
      { ...runs, numRuns: 500 },
    );
  });
}
