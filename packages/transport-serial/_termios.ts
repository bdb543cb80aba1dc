/**
 * Internal: puts a tty into raw 8N1 at a given speed, through libc over FFI on Linux (x86_64
 * and aarch64 glibc share the `struct termios` layout used here), or through `stty` where FFI
 * is not permitted or not available.
 *
 * @module
 */

/** Linux speed constants (termios.h), by baud rate. */
const speedCodes: ReadonlyMap<number, number> = new Map([
  [9600, 0o15],
  [19200, 0o16],
  [38400, 0o17],
  [57600, 0o10001],
  [115200, 0o10002],
  [230400, 0o10003],
  [460800, 0o10004],
  [500000, 0o10005],
  [576000, 0o10006],
  [921600, 0o10007],
]);

/** Baud rates the port accepts. */
export const supportedBaudRates: readonly number[] = [...speedCodes.keys()];

const O_RDWR = 0o2;
const O_NOCTTY = 0o400;
const O_NONBLOCK = 0o4000;
const TCSANOW = 0;
const TCIOFLUSH = 2;
const TERMIOS_SIZE = 60;
const C_CFLAG = 8;
const C_CC = 17;
const VTIME = 5;
const VMIN = 6;
const CSTOPB = 0o100;
const CREAD = 0o200;
const CLOCAL = 0o4000;
const CRTSCTS = 0o20000000000;

const libcSymbols = {
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  tcsetattr: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  tcflush: { parameters: ["i32", "i32"], result: "i32" },
  cfmakeraw: { parameters: ["buffer"], result: "void" },
  cfsetspeed: { parameters: ["buffer", "u32"], result: "i32" },
} as const;

/**
 * Raw mode, 8 data bits, no parity, one stop bit, no flow control, receiver on, modem lines
 * ignored; an idle read returns after 100 ms (VMIN 0, VTIME 1) so a reader can notice a close
 * instead of blocking a worker thread forever.
 */
function configureWithLibc(path: string, baudRate: number, speed: number, flush: boolean): void {
  const libc = Deno.dlopen("libc.so.6", libcSymbols);
  try {
    const fd = libc.symbols.open(
      new TextEncoder().encode(`${path}\0`),
      O_RDWR | O_NOCTTY | O_NONBLOCK,
      0,
    );
    if (fd < 0) throw new Error(`open(${path}) failed`);
    try {
      const termios = new Uint8Array(TERMIOS_SIZE);
      if (libc.symbols.tcgetattr(fd, termios) !== 0) throw new Error(`${path} is not a tty`);
      libc.symbols.cfmakeraw(termios);
      const view = new DataView(termios.buffer);
      let cflag = view.getUint32(C_CFLAG, true);
      cflag = (cflag | CREAD | CLOCAL) & ~(CSTOPB | CRTSCTS);
      view.setUint32(C_CFLAG, cflag >>> 0, true);
      termios[C_CC + VTIME] = 1;
      termios[C_CC + VMIN] = 0;
      if (libc.symbols.cfsetspeed(termios, speed) !== 0) {
        throw new Error(`cfsetspeed(${baudRate}) failed`);
      }
      if (libc.symbols.tcsetattr(fd, TCSANOW, termios) !== 0) {
        throw new Error(`tcsetattr(${path}) failed`);
      }
      if (flush) libc.symbols.tcflush(fd, TCIOFLUSH);
    } finally {
      libc.symbols.close(fd);
    }
  } finally {
    libc.close();
  }
}

async function configureWithStty(path: string, baudRate: number): Promise<void> {
  const device = Deno.build.os === "linux" ? "-F" : "-f";
  const { success, stderr } = await new Deno.Command("stty", {
    args: [
      device,
      path,
      String(baudRate),
      "raw",
      "-echo",
      "cs8",
      "-parenb",
      "-cstopb",
      "clocal",
      "cread",
      "-crtscts",
      "-ixon",
      "-ixoff",
      "min",
      "0",
      "time",
      "1",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`stty failed: ${new TextDecoder().decode(stderr).trim()}`);
}

/** Which mechanism set up the port. */
export type TermiosMethod = "ffi" | "stty";

/**
 * Puts `path` into raw 8N1 at `baudRate`; `flush` drops bytes queued from before (on open only,
 * never on a speed change, where the chip's next bytes may already be arriving).
 *
 * @returns The mechanism used.
 */
export async function configureTty(
  path: string,
  baudRate: number,
  prefer: TermiosMethod | undefined,
  flush: boolean,
): Promise<TermiosMethod> {
  const speed = speedCodes.get(baudRate);
  if (speed === undefined) {
    throw new RangeError(`baud rate ${baudRate} not one of ${supportedBaudRates.join(", ")}`);
  }
  const ffiUsable = Deno.build.os === "linux" &&
    Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  if (prefer === "ffi" && !ffiUsable) {
    throw new Error("FFI is not available: run with --allow-ffi on Linux");
  }
  if (prefer !== "stty" && ffiUsable) {
    try {
      configureWithLibc(path, baudRate, speed, flush);
      return "ffi";
    } catch (error) {
      // Without glibc (musl, say) dlopen fails; stty still works there unless FFI was demanded.
      if (prefer === "ffi") throw error;
    }
  }
  await configureWithStty(path, baudRate);
  return "stty";
}
