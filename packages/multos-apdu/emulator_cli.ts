/**
 * Serves a {@linkcode TrustCoreEmulator} in MULTOS serial command mode on a tty (for example
 * one end of a `socat` pseudo-terminal pair) or on a TCP port, so a host reaches it exactly as
 * it would reach the chip.
 *
 * ```sh
 * deno run -A packages/multos-apdu/emulator_cli.ts --tty /dev/pts/7 [options]
 * deno run -A packages/multos-apdu/emulator_cli.ts --tcp 3333 [options]
 * ```
 *
 * Options: `--pin PIN` (user PIN, default 0000), `--so-pin PIN`, `--key FILE` and `--cert FILE`
 * (PKCS#8 key and certificate PEM of the device identity, stored as key 6100 and file 5300),
 * `--host ADDR` (TCP bind address, default 127.0.0.1), `--baud N` (tty speed, default 115200),
 * `--no-ack` (start with ACKs off). It prints one line `ready tty:PATH` or
 * `ready tcp:HOST:PORT` when it serves (`--tcp 0` picks a free port), and stops on SIGINT or
 * SIGTERM. A TCP port serves one host at a time; each new connection power-cycles the chip.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CommandModeDevice, openSerialPort, TcpLink } from "@anchortls/transport-serial";
import { TrustCoreEmulator, type TrustCoreEmulatorOptions } from "./emulator.ts";

const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

async function makeChip(
  values: Record<string, string | boolean | undefined>,
): Promise<TrustCoreEmulator> {
  const options: TrustCoreEmulatorOptions = {};
  if (typeof values.pin === "string") options.pin = values.pin;
  if (typeof values["so-pin"] === "string") options.soPin = values["so-pin"];
  const key = values.key;
  const cert = values.cert;
  if (typeof key === "string" && typeof cert === "string") {
    return await TrustCoreEmulator.fromPem({
      ...options,
      keyPem: await Deno.readTextFile(key),
      certificatePem: await Deno.readTextFile(cert),
    });
  }
  if (key !== undefined || cert !== undefined) throw new Error("--key and --cert go together");
  return new TrustCoreEmulator(options);
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      tty: { type: "string" },
      tcp: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      pin: { type: "string" },
      "so-pin": { type: "string" },
      key: { type: "string" },
      cert: { type: "string" },
      baud: { type: "string", default: "115200" },
      "no-ack": { type: "boolean", default: false },
    },
  });
  if ((values.tty === undefined) === (values.tcp === undefined)) {
    throw new Error(
      "usage: emulator_cli.ts --tty PATH | --tcp PORT [--pin PIN] [--key FILE --cert FILE]",
    );
  }
  const chip = await makeChip(values);
  const deviceOptions = { ackMode: !values["no-ack"], onReset: () => chip.reset() };
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }

  if (values.tty !== undefined) {
    const port = await openSerialPort(values.tty, { baudRate: Number(values.baud) });
    const device = new CommandModeDevice(port, chip.handle, deviceOptions);
    stop.signal.addEventListener("abort", () => void device.close());
    say(`ready tty:${values.tty}`);
    await device.finished;
    await device.close();
    return;
  }

  const listener = Deno.listen({
    hostname: values.host,
    port: Number(values.tcp),
    transport: "tcp",
  });
  stop.signal.addEventListener("abort", () => listener.close());
  say(`ready tcp:${values.host}:${(listener.addr as Deno.NetAddr).port}`);
  for (;;) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch {
      return;
    }
    conn.setNoDelay(true);
    chip.reset();
    const device = new CommandModeDevice(
      new TcpLink(conn),
      chip.handle,
      deviceOptions,
    );
    const onAbort = () => void device.close();
    stop.signal.addEventListener("abort", onAbort);
    await device.finished;
    await device.close();
    stop.signal.removeEventListener("abort", onAbort);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
    Deno.exit(0);
  } catch (error) {
    Deno.stderr.writeSync(
      encoder.encode(`emulator: ${error instanceof Error ? error.message : error}\n`),
    );
    Deno.exit(1);
  }
}
