/**
 * A serial device (UART, USB serial adapter, pseudo-terminal) as a {@linkcode ByteLink}.
 *
 * Port settings go through libc's termios over FFI (`--allow-ffi`), or `stty` (`--allow-run`)
 * when FFI is not permitted. Opening anything under `/dev` needs `-A` in Deno 2.9.6, even with
 * unrestricted `--allow-read --allow-write`.
 *
 * @module
 */

import type { ByteLink } from "./byte_link.ts";
import { configureTty, supportedBaudRates, type TermiosMethod } from "./_termios.ts";

export { supportedBaudRates, type TermiosMethod };

/** Options for {@linkcode openSerialPort}. */
export interface SerialPortOptions {
  /** Line speed, one of {@linkcode supportedBaudRates} (9600 … 921600). @default {115200} */
  baudRate?: number;
  /** Force how the port is configured; by default FFI when permitted, else `stty`. */
  termios?: TermiosMethod;
}

/** An open serial device. */
export interface SerialPort extends ByteLink {
  /** The device path. */
  readonly path: string;
  /** The current line speed. */
  readonly baudRate: number;
  /** How the port was configured. */
  readonly termios: TermiosMethod;
  /**
   * Changes the line speed; bytes in flight are kept.
   *
   * @param baudRate The new rate.
   */
  setBaudRate(baudRate: number): Promise<void>;
}

const READ_BUFFER = 4096;

class TtyLink implements SerialPort {
  readonly path: string;
  readonly termios: TermiosMethod;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly #readFile: Deno.FsFile;
  readonly #writeFile: Deno.FsFile;
  #baudRate: number;
  #closing = false;
  #closed: Promise<void> | undefined;
  #pendingRead: Promise<unknown> | undefined;

  constructor(
    path: string,
    baudRate: number,
    termios: TermiosMethod,
    readFile: Deno.FsFile,
    writeFile: Deno.FsFile,
  ) {
    this.path = path;
    this.#baudRate = baudRate;
    this.termios = termios;
    this.#readFile = readFile;
    this.#writeFile = writeFile;
    const buffer = new Uint8Array(READ_BUFFER);
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        // VMIN 0 / VTIME 1: an idle read returns null after 100 ms, which lets this loop see a
        // close instead of leaving a read blocked in the OS (see close()).
        for (;;) {
          if (this.#closing) {
            controller.close();
            return;
          }
          let n: number | null;
          const read = this.#readFile.read(buffer);
          this.#pendingRead = read;
          try {
            n = await read;
          } catch (error) {
            if (this.#closing) controller.close();
            else controller.error(error);
            return;
          } finally {
            this.#pendingRead = undefined;
          }
          if (n !== null && n > 0) {
            controller.enqueue(buffer.slice(0, n));
            return;
          }
        }
      },
      cancel: () => {
        this.#closing = true;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      // FsFile.writable held bytes back until close on a tty; write() until all are out.
      write: async (chunk) => {
        let offset = 0;
        while (offset < chunk.length) {
          offset += await this.#writeFile.write(chunk.subarray(offset));
        }
      },
    });
  }

  get baudRate(): number {
    return this.#baudRate;
  }

  async setBaudRate(baudRate: number): Promise<void> {
    await configureTty(this.path, baudRate, this.termios, false);
    this.#baudRate = baudRate;
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    // Closing a handle under a pending read leaks the descriptor and a blocked worker thread;
    // the read returns within one VTIME period, so wait for it first.
    await this.#pendingRead?.catch(() => undefined);
    this.#readFile.close();
    this.#writeFile.close();
  }
}

/**
 * Opens a serial device as a byte link: raw, 8 data bits, no parity, 1 stop bit, no flow
 * control, at the given speed.
 *
 * Needs `-A` (any `/dev` path) and, for the default configuration path, `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { CommandModeTransport, openSerialPort } from "@anchortls/transport-serial";
 * const port = await openSerialPort("/dev/ttyUSB0", { baudRate: 115200 });
 * const transport = await CommandModeTransport.open(port);
 * await transport.close(); // closes the port too
 * ```
 *
 * @param path The device path, e.g. `/dev/ttyUSB0` or a pseudo-terminal.
 * @param options Speed and configuration method.
 * @returns The open port.
 */
export async function openSerialPort(
  path: string,
  options: SerialPortOptions = {},
): Promise<SerialPort> {
  const baudRate = options.baudRate ?? 115200;
  const termios = await configureTty(path, baudRate, options.termios, true);
  // One handle per direction: a read pending on a handle blocks writes on that same handle.
  const readFile = await Deno.open(path, { read: true });
  let writeFile: Deno.FsFile;
  try {
    writeFile = await Deno.open(path, { write: true });
  } catch (error) {
    readFile.close();
    throw error;
  }
  return new TtyLink(path, baudRate, termios, readFile, writeFile);
}
