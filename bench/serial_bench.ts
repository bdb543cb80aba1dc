/**
 * APDU round trips through MULTOS serial command mode: an in-memory link (baseline) against
 * a real pseudo-terminal pair made by socat, for 16-, 256- and 2048-byte payloads. Each bench
 * name carries the wire bytes one APDU costs (command frame, ACK, response frame) and the time
 * those bytes take on a 115200-baud 8N1 UART (10 bits per byte), which neither link simulates.
 *
 * Run: `deno bench -A bench/serial_bench.ts` (-A for /dev/pts and FFI; socat on the PATH).
 */
import {
  CommandModeDevice,
  CommandModeTransport,
  createMemoryLinkPair,
  encodeCommandApdu,
  openSerialPort,
} from "@anchortls/transport-serial";
import { socatAvailable, spawnPtyPair } from "@anchortls/transport-serial/testing";

const PAYLOADS = [16, 256, 2048] as const;
const UART_BYTES_PER_SECOND = 115200 / 10;

/** The chip echoes the command data back with 9000. */
function echo(apdu: Uint8Array): Uint8Array {
  const lc = (apdu[4]! << 8) | apdu[5]!;
  const out = new Uint8Array(lc + 2);
  out.set(apdu.subarray(6, 6 + lc));
  out.set([0x90, 0x00], lc);
  return out;
}

/** A case-4 APDU: header, Lc(2), payload, Le(2). */
function apduOf(payload: number): Uint8Array {
  const apdu = new Uint8Array(4 + 2 + payload + 2).fill(0xa5);
  apdu.set([0x80, 0x10, 0x00, 0x00, payload >> 8, payload & 0xff]);
  apdu.set([payload >> 8, payload & 0xff], 6 + payload);
  return apdu;
}

function wireBytes(payload: number): number {
  const command = encodeCommandApdu(apduOf(payload)).length;
  const ack = 1;
  const response = 3 + payload + 2;
  return command + ack + response;
}

function label(link: string, payload: number): string {
  const bytes = wireBytes(payload);
  const ms = (bytes / UART_BYTES_PER_SECOND) * 1000;
  return `${link}, ${payload} B payload: ${bytes} wire B/APDU, ${ms.toFixed(2)} ms at 115200`;
}

const [memoryHost, memoryChip] = createMemoryLinkPair();
const memoryDevice = new CommandModeDevice(memoryChip, echo);
const memory = new CommandModeTransport(memoryHost);

const havePty = await socatAvailable();
const pair = havePty ? await spawnPtyPair() : undefined;
const ptyHost = pair ? await openSerialPort(pair.paths[0], { baudRate: 115200 }) : undefined;
const ptyChip = pair ? await openSerialPort(pair.paths[1], { baudRate: 115200 }) : undefined;
const ptyDevice = ptyChip ? new CommandModeDevice(ptyChip, echo) : undefined;
const pty = ptyHost ? new CommandModeTransport(ptyHost) : undefined;

// deno bench has no teardown hook; socat must not outlive the run.
globalThis.addEventListener("unload", () => {
  void memory.close();
  void memoryDevice.close();
  void pty?.close();
  void ptyDevice?.close();
  void pair?.close();
});

for (const payload of PAYLOADS) {
  const apdu = apduOf(payload);
  const group = `${payload} B`;
  Deno.bench({
    name: label("memory", payload),
    group,
    baseline: true,
    async fn() {
      await memory.transmit(apdu);
    },
  });
  Deno.bench({
    name: label("pty 115200", payload),
    group,
    ignore: pty === undefined,
    async fn() {
      await pty!.transmit(apdu);
    },
  });
}
