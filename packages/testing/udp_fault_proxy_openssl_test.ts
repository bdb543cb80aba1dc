/**
 * The fault proxy in front of a real DTLS server: `openssl s_server -dtls1_2` on 127.0.0.1
 * answering a hand-built ClientHello with a HelloVerifyRequest, through the proxy.
 *
 * Needs: `openssl` on PATH, --allow-run, --allow-net (loopback), --allow-read (the x509
 * package's test PKI).
 */

import assert from "node:assert/strict";
import {
  ContentType,
  encodeDtlsRecord,
  ProtocolVersion,
  splitDatagram,
  Writer,
} from "@anchortls/record";
import { fixedPki, startOpenSslServer } from "./peers.ts";
import { connectUdp, type DatagramLink } from "@anchortls/client/advanced";
import { withFaultSeed } from "./fault_plan.ts";
import { startUdpFaultProxy, type UdpFaultProxyOptions } from "./udp_fault_proxy.ts";

/** A ClientHello without cookie in one DTLS record: AES128-SHA, null compression, no extensions. */
function clientHelloDatagram(recordSeq: number): Uint8Array {
  const body = new Writer()
    .u16(ProtocolVersion.dtls12)
    .bytes(new Uint8Array(32).fill(7))
    .vector8(() => {})
    .vector8(() => {})
    .vector16((w) => w.u16(0x002f).u16(0x00ff))
    .vector8((w) => w.u8(0))
    .finish();
  const handshake = new Writer().u8(1).u24(body.length).u16(0).u24(0).u24(body.length).bytes(body);
  return encodeDtlsRecord({
    type: ContentType.handshake,
    version: ProtocolVersion.dtls12,
    epoch: 0,
    sequenceNumber: recordSeq,
    fragment: handshake.finish(),
  });
}

function isHelloVerifyRequest(datagram: Uint8Array): boolean {
  const [record] = splitDatagram(datagram);
  return record?.type === ContentType.handshake && record.fragment[0] === 3;
}

/** Runs `body` against s_server behind a proxy; everything is stopped afterwards. */
async function withServerBehindProxy(
  faults: Omit<UdpFaultProxyOptions, "serverPort">,
  body: (link: DatagramLink, describe: () => string) => Promise<void>,
): Promise<void> {
  const server = await startOpenSslServer({ pki: fixedPki, dtls: true });
  try {
    const proxy = await startUdpFaultProxy({
      ...faults,
      serverPort: server.port,
      maxRunMs: 20_000,
    });
    const link = await connectUdp(proxy.hostname, proxy.port);
    try {
      await withFaultSeed(
        faults.seed,
        () => body(link, () => proxy.describe()),
        () => proxy.describe(),
      );
    } finally {
      await link.close();
      await proxy.close();
    }
  } finally {
    await server.stop();
  }
}

/**
 * Sends the ClientHello every `intervalMs` until a HelloVerifyRequest comes back, at most
 * `attempts` times; returns how many datagrams were sent and received.
 */
async function helloUntilVerify(
  link: DatagramLink,
  attempts: number,
  intervalMs: number,
): Promise<{ sent: number; received: Uint8Array[] }> {
  const reader = link.readable.getReader();
  const received: Uint8Array[] = [];
  let sent = 0;
  // One read stays pending across resends, so no datagram is taken by an abandoned read.
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  try {
    while (sent < attempts) {
      await link.send(clientHelloDatagram(sent));
      sent++;
      pending ??= reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        pending,
        new Promise<"timeout">((
          resolve,
        ) => (timer = setTimeout(() => resolve("timeout"), intervalMs))),
      ]);
      clearTimeout(timer);
      if (got === "timeout") continue;
      pending = undefined;
      if (got.value === undefined) break;
      received.push(got.value);
      if (isHelloVerifyRequest(got.value)) break;
    }
    return { sent, received };
  } finally {
    pending?.catch(() => {});
    reader.releaseLock();
  }
}

Deno.test("through a fault-free proxy the server's HelloVerifyRequest answers the first hello", async () => {
  await withServerBehindProxy({ seed: 1 }, async (link, describe) => {
    const { sent, received } = await helloUntilVerify(link, 5, 2_000);
    assert.equal(sent, 1, describe());
    assert.ok(isHelloVerifyRequest(received[0]!), describe());
  });
});

Deno.test("a proxy duplicating toward the client delivers the HelloVerifyRequest twice", async () => {
  await withServerBehindProxy({ seed: 2, toClient: { duplicate: 1 } }, async (link, describe) => {
    await helloUntilVerify(link, 5, 2_000);
    const reader = link.readable.getReader();
    const second = await reader.read();
    reader.releaseLock();
    assert.ok(second.value && isHelloVerifyRequest(second.value), describe());
  });
});

Deno.test("with 20% loss each way, resending the hello gets the cookie through, 5 seeds", async () => {
  for (let seed = 10; seed < 15; seed++) {
    await withServerBehindProxy(
      { seed, toServer: { drop: 0.2 }, toClient: { drop: 0.2 } },
      async (link, describe) => {
        const { received } = await helloUntilVerify(link, 40, 250);
        assert.ok(received.some(isHelloVerifyRequest), `no HelloVerifyRequest; ${describe()}`);
      },
    );
  }
});
