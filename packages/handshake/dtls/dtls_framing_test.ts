import assert from "node:assert/strict";
import { AlertDescription, ProtocolVersion, TlsAlertError } from "@anchortls/record";
import { parseCertificate, parsePem } from "@anchortls/x509";
import { ClientHandshake } from "../client_handshake.ts";
import type { HandshakeMessage } from "../messages/framing.ts";
import { decodeClientHello } from "../messages/client_hello.ts";
import { HandshakeType } from "../messages/handshake_type.ts";
import { encodeHelloVerifyRequest } from "../messages/hello_verify_request.ts";
import { SoftwareCryptoProvider } from "../software_provider.ts";
import { readFixedPki } from "@anchortls/testing";
import { DtlsHandshakeFraming } from "./dtls_framing.ts";
import { decodeDtlsHandshakeRecord, encodeDtlsHandshakeMessage } from "./handshake_header.ts";

const isAlert = (description: number) => (e: unknown) =>
  e instanceof TlsAlertError && e.description === description;

Deno.test("DtlsHandshakeFraming numbers outgoing messages from 0", () => {
  const framing = new DtlsHandshakeFraming();
  const first = decodeDtlsHandshakeRecord(framing.frame(1, new Uint8Array(3)));
  const second = decodeDtlsHandshakeRecord(framing.frame(16, new Uint8Array(5)));
  assert.deepEqual([first[0]!.messageSeq, second[0]!.messageSeq], [0, 1]);
  assert.equal(framing.nextMessageSeq, 2);
});

/** One whole DTLS message as the core's reassembler hands it to the state machine. */
function whole(bytes: Uint8Array): HandshakeMessage {
  const [fragment] = decodeDtlsHandshakeRecord(bytes);
  return { type: fragment!.msgType, body: fragment!.body, transcriptBytes: bytes };
}

async function dtlsHandshake(version?: typeof ProtocolVersion.tls12): Promise<{
  hs: ClientHandshake;
  hello: Uint8Array;
  framing: DtlsHandshakeFraming;
}> {
  const framing = new DtlsHandshakeFraming();
  const hs = new ClientHandshake({
    provider: new SoftwareCryptoProvider(),
    trustAnchors: parsePem(await readFixedPki("root.pem")).map((d) => parseCertificate(d)),
    serverName: "localhost",
    framing,
    version: version ?? ProtocolVersion.dtls12,
  });
  const [send] = await hs.start(Date.now());
  assert.ok(send?.kind === "send");
  return { hs, hello: send.data, framing };
}

function helloVerifyRequest(cookie: Uint8Array, messageSeq = 0): Uint8Array {
  return encodeDtlsHandshakeMessage({
    msgType: HandshakeType.hello_verify_request,
    messageSeq,
    body: encodeHelloVerifyRequest({ version: ProtocolVersion.dtls10, cookie }),
  });
}

Deno.test("ClientHandshake over DTLS: a HelloVerifyRequest brings the same hello back with its cookie", async () => {
  const { hs, hello } = await dtlsHandshake();
  const first = decodeDtlsHandshakeRecord(hello)[0]!;
  const firstHello = decodeClientHello(first.body, { dtls: true });
  assert.equal(firstHello.version, ProtocolVersion.dtls12);
  assert.deepEqual(firstHello.cookie, new Uint8Array(0));
  const cookie = new Uint8Array(20).fill(0xab);
  const actions = await hs.handleMessage(whole(helloVerifyRequest(cookie)), Date.now());
  assert.equal(actions.length, 1);
  assert.ok(actions[0]!.kind === "send");
  const second = decodeDtlsHandshakeRecord(actions[0]!.data)[0]!;
  assert.equal(second.messageSeq, 1);
  // The action also carries the message's parts, so the DTLS core never parses its own output.
  assert.deepEqual(actions[0]!.message, {
    msgType: HandshakeType.client_hello,
    messageSeq: 1,
    body: second.body,
  });
  const secondHello = decodeClientHello(second.body, { dtls: true });
  assert.deepEqual(secondHello.cookie, cookie);
  assert.deepEqual(secondHello.random, firstHello.random);
  assert.deepEqual(secondHello.extensions, firstHello.extensions);
});

Deno.test("ClientHandshake: HelloVerifyRequest is refused over TLS and when malformed", async () => {
  const tls = await dtlsHandshake(ProtocolVersion.tls12);
  await assert.rejects(
    tls.hs.handleMessage(whole(helloVerifyRequest(new Uint8Array(4))), 0),
    isAlert(AlertDescription.unexpected_message),
  );
  const bad = await dtlsHandshake();
  const body = Uint8Array.of(0xfe, 0xfd, 5, 1, 2);
  await assert.rejects(
    bad.hs.handleMessage(whole(encodeDtlsHandshakeMessage({ msgType: 3, messageSeq: 0, body })), 0),
    isAlert(AlertDescription.decode_error),
  );
});

Deno.test("ClientHandshake over DTLS: handleMessage takes a reassembled message as it is, and a second HelloVerifyRequest asks again", async () => {
  const { hs } = await dtlsHandshake();
  const cookie = (fill: number) => new Uint8Array(8).fill(fill);
  for (const [i, fill] of [[1, 0xaa], [2, 0xbb]] as const) {
    const transcriptBytes = helloVerifyRequest(cookie(fill), i - 1);
    const body = encodeHelloVerifyRequest({
      version: ProtocolVersion.dtls10,
      cookie: cookie(fill),
    });
    const [send] = await hs.handleMessage(
      { type: HandshakeType.hello_verify_request, body, transcriptBytes },
      Date.now(),
    );
    assert.ok(send?.kind === "send" && send.message);
    assert.equal(send.message.messageSeq, i);
    assert.deepEqual(decodeClientHello(send.message.body, { dtls: true }).cookie, cookie(fill));
  }
});
