/**
 * DTLS 1.2 against a local `openssl s_server -dtls1_2 -mtu 1400` on loopback:
 *
 * - handshake: ours (`connectDtls`, software provider, TLS_RSA_WITH_AES_128_CBC_SHA256, EtM
 *   and EMS, cookie exchange, chain of three RSA-2048 certificates validated, close_notify)
 *   beside `openssl s_client -dtls1_2` doing the same handshake and close as a process (so
 *   its figure includes starting the process, and s_client's own wait of about 0.5 s before
 *   it exits after a DTLS close: what a script that shells out pays per handshake).
 * - record: protecting and unprotecting one 1400-byte datagram (one record of 1323 bytes of
 *   application data under AES-128-CBC/HMAC-SHA256 with EtM), with the DTLS header, epoch‖
 *   sequence binding and the replay window, beside the bare protector call.
 *
 * Run: `deno bench -A bench/dtls_bench.ts` (needs `openssl` on the PATH).
 *
 * @module
 */

import { connectDtls } from "@anchortls/client";
import { fixedPki, startOpenSslServer } from "@anchortls/testing";
import {
  CbcHmacProtector,
  CipherSuites,
  ContentType,
  encodeDtlsRecord,
  ProtocolVersion,
  type RecordContext,
  ReplayWindow,
  splitDatagram,
} from "@anchortls/record";

const server = await startOpenSslServer({
  pki: fixedPki,
  dtls: true,
  mode: "quiet",
  mtu: 1400,
  ciphers: ["AES128-SHA256"],
});

const rootPem = await Deno.readTextFile(fixedPki.root);
const port = server.port;

Deno.bench(
  "openssl s_client -dtls1_2 (process)",
  { group: "handshake", baseline: true },
  async () => {
    const { success } = await new Deno.Command("openssl", {
      args: [
        "s_client",
        "-dtls1_2",
        "-connect",
        `127.0.0.1:${port}`,
        "-servername",
        "localhost",
        "-CAfile",
        fixedPki.root,
        "-verify_return_error",
        "-cipher",
        "AES128-SHA256",
        // -brief, not -quiet: -quiet implies -ign_eof, and end of stdin is what closes it.
        "-brief",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    if (!success) throw new Error("s_client failed");
  },
);

Deno.bench("anchortls connectDtls handshake", { group: "handshake" }, async () => {
  const dtls = await connectDtls({
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    caCerts: [rootPem],
    suites: [CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256],
  });
  await dtls.handshake;
  await dtls.close();
});

const suite = CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256;
const keys = {
  suite,
  encKey: new Uint8Array(16).fill(1),
  macKey: new Uint8Array(32).fill(2),
  encryptThenMac: true,
};
// The noble engine: synchronous, and what `auto` runs for records of a datagram's size.
const sealer = new CbcHmacProtector({ ...keys, engine: "noble" });
const opener = new CbcHmacProtector({ ...keys, engine: "noble" });
const sealed = (fragment: Uint8Array | Promise<Uint8Array>): Uint8Array => {
  if (fragment instanceof Promise) throw new TypeError("the noble engine answers synchronously");
  return fragment;
};
const DATAGRAM = 1400;
const payload = new Uint8Array(DATAGRAM - 13 - sealer.maxExpansion).fill(0x61);
const epoch = 1;
let sequenceNumber = 0;

function sealDatagram(): Uint8Array {
  const seq = sequenceNumber++;
  const context: RecordContext = {
    type: ContentType.application_data,
    version: ProtocolVersion.dtls12,
    sequence: (BigInt(epoch) << 48n) | BigInt(seq),
  };
  return encodeDtlsRecord({
    type: ContentType.application_data,
    version: ProtocolVersion.dtls12,
    epoch,
    sequenceNumber: seq,
    fragment: sealed(sealer.seal(context, payload)),
  });
}

const sample = sealDatagram();
if (sample.length > DATAGRAM) throw new Error(`datagram of ${sample.length} bytes`);
const bareContext: RecordContext = { type: 23, version: 0xfefd, sequence: 1n << 48n };
const bareFragment = sealed(sealer.seal(bareContext, payload));

Deno.bench("protector seal alone", { group: "protect 1400-byte datagram", baseline: true }, () => {
  sealer.seal(bareContext, payload);
});

Deno.bench("DTLS seal + record header", { group: "protect 1400-byte datagram" }, () => {
  sealDatagram();
});

Deno.bench(
  "protector open alone",
  { group: "unprotect 1400-byte datagram", baseline: true },
  () => {
    opener.open(bareContext, bareFragment);
  },
);

const datagrams = Array.from({ length: 4096 }, () => sealDatagram());
let next = 0;
const window = new ReplayWindow();
Deno.bench(
  "DTLS split + replay check + open + mark",
  { group: "unprotect 1400-byte datagram" },
  () => {
    // Cycle through fresh datagrams; past the last, a new window keeps every one "new".
    const datagram = datagrams[next++ % datagrams.length]!;
    const [record] = splitDatagram(datagram);
    const w = next % datagrams.length === 0 ? new ReplayWindow() : window;
    if (!w.check(record!.sequenceNumber) && next <= datagrams.length) throw new Error("replay");
    opener.open({
      type: record!.type,
      version: record!.version,
      sequence: (BigInt(record!.epoch) << 48n) | BigInt(record!.sequenceNumber),
    }, record!.fragment);
    w.mark(record!.sequenceNumber);
  },
);

globalThis.addEventListener("unload", () => void server.stop());
