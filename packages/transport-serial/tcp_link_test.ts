import assert from "node:assert/strict";
import { CommandModeDevice } from "./command_mode_device.ts";
import { CommandModeTransport } from "./command_mode_transport.ts";
import { openByteLink } from "./open_byte_link.ts";
import { connectTcpLink, TcpLink } from "./tcp_link.ts";

Deno.test("TCP link: an emulated chip behind a local port answers through the transport", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const accepted = listener.accept().then((conn) =>
    new CommandModeDevice(new TcpLink(conn), (apdu) => Uint8Array.of(apdu.length, 0x90, 0x00))
  );
  let transport: CommandModeTransport | undefined;
  let device: CommandModeDevice | undefined;
  try {
    transport = new CommandModeTransport(await openByteLink(`tcp:127.0.0.1:${port}`));
    device = await accepted;
    for (const size of [4, 6, 1000, 3000]) {
      assert.deepEqual(
        await transport.transmit(new Uint8Array(size)),
        Uint8Array.of(size & 0xff, 0x90, 0),
      );
    }
  } finally {
    await transport?.close();
    await device?.close();
    listener.close();
  }
});

Deno.test("TCP link: connectTcpLink refuses a device path; close ends a pending read", async () => {
  await assert.rejects(connectTcpLink("/dev/ttyUSB0"), RangeError);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const accepted = listener.accept();
  const link = await connectTcpLink({ hostname: "127.0.0.1", port });
  const server = await accepted;
  try {
    const reader = link.readable.getReader();
    const pending = reader.read();
    await link.close();
    assert.equal((await pending).done, true);
    reader.releaseLock();
  } finally {
    server.close();
    listener.close();
  }
});
