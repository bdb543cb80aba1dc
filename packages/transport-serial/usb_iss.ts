/**
 * MULTOS I2C command mode tunnelled through a USB-ISS USB-to-I2C adapter, which shows up as a
 * serial port: a second {@linkcode ApduTransport} over the same kind of {@linkcode ByteLink}.
 *
 * The chip (I2C slave 0x5F) exposes registers: write 0x00 the tag and length of a message,
 * write 0x01 its value (in pieces), read 0x80 the response tag, 0x81 its length, 0x82 its
 * value in chunks no longer than the size written to 0x83. The adapter frames each transfer:
 * `55 (addr<<1) reg n data…` writes (answer: one byte, non-zero when the chip ACKed) and
 * `55 (addr<<1)|1 reg n` reads (answer: n bytes); `5A 02 70 01` sets the adapter up for I2C
 * (answer `FF 00`).
 *
 * @module
 */

import type { ApduTransport, ByteLink, TransmitOptions } from "./byte_link.ts";
import type { CommandTimeoutClass, CommandTimeouts } from "./command_timeouts.ts";
import { CommandQueue } from "./_command_queue.ts";
import { LinkError } from "./link_error.ts";
import { encodeCommandApdu, isResponseTag, MessageTag } from "./messages.ts";

/** The chip's command-mode I2C registers. */
export const I2cRegister = {
  /** Write: tag and length of a message. */
  tagLength: 0x00,
  /** Write: the message value, in pieces. */
  value: 0x01,
  /** Read: the response tag (0x00 while the answer is not ready). */
  responseTag: 0x80,
  /** Read: the response length (1 byte for tags 0x40–0x7F, else 2). */
  responseLength: 0x81,
  /** Read: the response value, in chunks. */
  responseValue: 0x82,
  /** Write (2 bytes): the largest read chunk the host will ask for. */
  readChunkSize: 0x83,
} as const;

/** The chip's default 7-bit I2C address. */
export const MULTOS_I2C_ADDRESS = 0x5f;

/** Adapter set-up: I2C mode at the vendor driver's clock setting, I/O pins as the driver sets them. */
const SETUP_COMMAND = Uint8Array.of(0x5a, 0x02, 0x70, 0x01);
const SETUP_ANSWER = "ff00";

/**
 * Builds a USB-ISS register write.
 *
 * @example
 * ```ts
 * import { usbIssWrite } from "@anchortls/transport-serial";
 * usbIssWrite(0x5f, 0x83, Uint8Array.of(0x00, 0x3c)).toHex(); // "55be8302003c"
 * ```
 *
 * @param address The 7-bit I2C address.
 * @param register The register.
 * @param data 1–255 bytes (the adapter buffers at most 60 per transfer).
 * @returns `55 (address<<1) register length data`.
 */
export function usbIssWrite(address: number, register: number, data: Uint8Array): Uint8Array {
  if (data.length < 1 || data.length > 255) {
    throw new RangeError(`USB-ISS write of ${data.length} bytes (1..255)`);
  }
  return Uint8Array.of(0x55, address << 1, register, data.length, ...data);
}

/**
 * Builds a USB-ISS register read.
 *
 * @param address The 7-bit I2C address.
 * @param register The register.
 * @param count 1–255 bytes to read.
 * @returns `55 (address<<1)|1 register count`.
 */
export function usbIssRead(address: number, register: number, count: number): Uint8Array {
  if (count < 1 || count > 255) throw new RangeError(`USB-ISS read of ${count} bytes (1..255)`);
  return Uint8Array.of(0x55, (address << 1) | 1, register, count);
}

/** Options for {@linkcode UsbIssI2cTransport.open}. */
export interface UsbIssI2cOptions {
  /** The chip's 7-bit I2C address. @default {0x5f} */
  address?: number;
  /** Value bytes per write to register 0x01. @default {56} */
  writeChunk?: number;
  /** Bytes per read of register 0x82, also written to register 0x83. @default {60} */
  readChunk?: number;
  /** Deadlines per class of command. @default {{ standard: 1000, long: 5000, keyGeneration: 30000 }} */
  timeouts?: Partial<CommandTimeouts>;
  /** Picks a command's timeout class. @default {trustCoreTimeoutClass} */
  classify?: (apdu: Uint8Array) => CommandTimeoutClass;
  /**
   * How long the adapter may take to answer one transfer other than the response-tag read,
   * which waits for the chip up to the command's deadline. @default {500}
   */
  adapterTimeoutMs?: number;
  /** Pause after a Reset before the chip is spoken to again (the vendor waits 100 ms). @default {100} */
  resetDelayMs?: number;
  /** Longest APDU accepted. @default {3000} */
  maxApduLength?: number;
  /** Longest response value accepted. @default {3072} */
  maxResponseLength?: number;
}

/**
 * Sends command-mode APDUs to a MULTOS chip on I2C through a USB-ISS adapter.
 *
 * One transfer at a time, in the register order the chip requires (reading out of order can
 * hang the bus). The response tag is read once: the chip stretches the I2C clock until its
 * answer is ready, so the adapter's answer to that read is awaited until the command's deadline
 * (1 s, 5 s for cryptography, 30 s for key generation), as the vendor's driver does (win
 * `apdu.c` readI2CReply), never polled. A chip that does not ACK a write fails the command with
 * `LinkError("nack")`; an adapter that does not answer, or a chip whose answer is not ready by
 * the deadline, with `timeout`; a bad response tag (0x00 included) or length with `framing`. After `timeout` and `framing` the
 * transport soft-resets the chip (Reset through register 0x00) and sets the read chunk again;
 * when that fails too, the next command tries it first.
 *
 * @example Over a USB-ISS on /dev/ttyACM0
 * ```ts ignore
 * import { openSerialPort, UsbIssI2cTransport } from "@anchortls/transport-serial";
 * const port = await openSerialPort("/dev/ttyACM0", { baudRate: 115200 });
 * const transport = await UsbIssI2cTransport.open(port);
 * const version = await transport.transmit(Uint8Array.fromHex("808800000002"));
 * await transport.close();
 * ```
 */
export class UsbIssI2cTransport implements ApduTransport {
  readonly #queue: CommandQueue;
  readonly #inbox: CommandQueue["inbox"];
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #address: number;
  readonly #writeChunk: number;
  readonly #readChunk: number;
  readonly #adapterTimeoutMs: number;
  readonly #resetDelayMs: number;
  readonly #maxResponseLength: number;
  #held = new Uint8Array(0);
  #needsReset = false;
  #resets = 0;
  /** A response-tag read the chip never answered in time: how long to wait for it before a reset. */
  #unansweredTagReadMs = 0;

  private constructor(link: ByteLink, options: UsbIssI2cOptions) {
    this.#queue = new CommandQueue(link, options);
    this.#inbox = this.#queue.inbox;
    this.#writer = this.#queue.writer;
    this.#address = options.address ?? MULTOS_I2C_ADDRESS;
    this.#writeChunk = options.writeChunk ?? 56;
    this.#readChunk = options.readChunk ?? 60;
    if (
      this.#writeChunk < 1 || this.#writeChunk > 255 || this.#readChunk < 1 || this.#readChunk > 255
    ) {
      throw new RangeError("USB-ISS chunk sizes must be 1..255");
    }
    this.#adapterTimeoutMs = options.adapterTimeoutMs ?? 500;
    this.#resetDelayMs = options.resetDelayMs ?? 100;
    this.#maxResponseLength = options.maxResponseLength ?? 3072;
  }

  /**
   * Takes over a link to a USB-ISS adapter, sets the adapter up for I2C and tells the chip its
   * read chunk size.
   *
   * @param link The adapter's serial link.
   * @param options Address, chunk sizes, timeouts.
   * @returns The ready transport.
   * @throws {LinkError} When the adapter or the chip does not answer as expected; the link is
   *   closed then.
   */
  static async open(link: ByteLink, options: UsbIssI2cOptions = {}): Promise<UsbIssI2cTransport> {
    const transport = new UsbIssI2cTransport(link, options);
    try {
      await transport.#guard(SETUP_COMMAND, async () => {
        await transport.#writer.write(SETUP_COMMAND);
        const answer = await transport.#read(2, Date.now() + transport.#adapterTimeoutMs);
        if (answer.toHex() !== SETUP_ANSWER) {
          throw new LinkError("framing", `adapter set-up answered ${answer.toHex()}, not ff00`);
        }
        await transport.#sendReadChunkSize();
      });
    } catch (error) {
      await transport.close();
      throw error;
    }
    return transport;
  }

  /**
   * Sends one APDU and reads its response through the registers.
   *
   * @param apdu The command in command-mode form.
   * @param options A deadline overriding the command's timeout class.
   * @returns Response data ‖ SW1 SW2.
   * @throws {LinkError} On NACK, timeout, bad response structure, oversize command or close.
   */
  transmit(apdu: Uint8Array, options: TransmitOptions = {}): Promise<Uint8Array> {
    return this.#queue.transmit(
      apdu,
      options,
      (command, timeoutMs) =>
        this.#guard(command, async () => {
          if (this.#needsReset) await this.#reset();
          return await this.#exchange(command, timeoutMs);
        }, true),
    );
  }

  /**
   * Soft-resets the chip (Reset through register 0x00), waits for it to restart and sets the
   * read chunk size again, as the chip forgets it.
   *
   * @throws {LinkError} When the chip does not ACK.
   */
  reset(): Promise<void> {
    const reset = Uint8Array.of(MessageTag.reset);
    return this.#queue.enqueue(() => this.#guard(reset, () => this.#reset()));
  }

  /** Stops the transport and closes the link. */
  close(): Promise<void> {
    return this.#queue.close();
  }

  /** How many Resets this transport has sent; each deselects the applet. */
  get resets(): number {
    return this.#resets;
  }

  /** Runs a step; turns link failures into LinkErrors and resets the chip after a lost sync. */
  async #guard<T>(command: Uint8Array, step: () => Promise<T>, recover = false): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const failure = error instanceof LinkError
        ? error
        : new LinkError("closed", "link closed", { cause: error });
      let resynchronised = false;
      if (recover && (failure.kind === "timeout" || failure.kind === "framing")) {
        try {
          await this.#reset();
          resynchronised = true;
        } catch {
          // The chip stays out of sync; the error below says so through `resynchronised`.
        }
      }
      throw new LinkError(failure.kind, failure.reason, { command, resynchronised, cause: error });
    }
  }

  async #exchange(command: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    this.#discardStray();
    const frame = encodeCommandApdu(command);
    await this.#write(I2cRegister.tagLength, frame.subarray(0, 3), command);
    for (let at = 3; at < frame.length; at += this.#writeChunk) {
      await this.#write(I2cRegister.value, frame.subarray(at, at + this.#writeChunk), command);
    }
    // One read, answered when the chip stops stretching the clock: bounded by the command's
    // deadline, not the adapter's per-transfer timeout, so a long RSA operation is no timeout.
    await this.#writer.write(usbIssRead(this.#address, I2cRegister.responseTag, 1));
    let tag: number;
    try {
      tag = (await this.#read(1, deadline))[0]!;
    } catch (error) {
      if (!(error instanceof LinkError && error.kind === "timeout")) throw error;
      // The adapter still owes that read's answer, due when the chip lets the clock go.
      this.#unansweredTagReadMs = timeoutMs;
      throw new LinkError("timeout", "chip did not answer in time", { command, cause: error });
    }
    if (tag === MessageTag.nack) throw new LinkError("nack", "chip sent NACK", { command });
    if (!isResponseTag(tag)) {
      throw new LinkError("framing", `response tag 0x${tag.toString(16)} not in 0x40–0xBF`, {
        command,
      });
    }
    const lengthBytes = tag < 0x80 ? 1 : 2;
    const lengthField = await this.#transfer(
      usbIssRead(this.#address, I2cRegister.responseLength, lengthBytes),
      lengthBytes,
    );
    const length = lengthBytes === 1 ? lengthField[0]! : (lengthField[0]! << 8) | lengthField[1]!;
    if (length < 2 || length > this.#maxResponseLength) {
      throw new LinkError("framing", `response length ${length} out of range`, { command });
    }
    const value = new Uint8Array(length);
    for (let at = 0; at < length; at += this.#readChunk) {
      const n = Math.min(this.#readChunk, length - at);
      value.set(
        await this.#transfer(usbIssRead(this.#address, I2cRegister.responseValue, n), n),
        at,
      );
    }
    return value;
  }

  /** Marks the chip out of sync until a whole reset sequence has gone through. */
  async #reset(): Promise<void> {
    const reset = Uint8Array.of(MessageTag.reset);
    this.#needsReset = true;
    if (this.#unansweredTagReadMs > 0) {
      // A late chip still holds the bus: let its answer come (once more the command's time)
      // before the adapter can carry the Reset.
      const wait = this.#unansweredTagReadMs;
      this.#unansweredTagReadMs = 0;
      await this.#read(1, Date.now() + wait).catch(() => undefined);
    }
    await this.#settle();
    this.#resets++;
    await this.#write(I2cRegister.tagLength, reset, reset);
    await new Promise((resolve) => setTimeout(resolve, this.#resetDelayMs));
    await this.#sendReadChunkSize();
    this.#needsReset = false;
  }

  async #sendReadChunkSize(): Promise<void> {
    const size = Uint8Array.of(this.#readChunk >> 8, this.#readChunk & 0xff);
    await this.#write(I2cRegister.readChunkSize, size, size);
  }

  async #write(register: number, data: Uint8Array, command: Uint8Array): Promise<void> {
    const answer = await this.#transfer(usbIssWrite(this.#address, register, data), 1);
    if (answer[0] === 0) {
      throw new LinkError("nack", `chip did not ACK the write to register ${register}`, {
        command,
      });
    }
  }

  async #transfer(request: Uint8Array, answerLength: number): Promise<Uint8Array> {
    await this.#writer.write(request);
    return await this.#read(answerLength, Date.now() + this.#adapterTimeoutMs);
  }

  /** Reads exactly `n` bytes of adapter answer, keeping any excess for the next read. */
  async #read(n: number, deadline: number): Promise<Uint8Array> {
    while (this.#held.length < n) {
      const chunk = await this.#inbox.next(deadline - Date.now());
      if (chunk === null) {
        throw new LinkError("timeout", `adapter answered ${this.#held.length} of ${n} bytes`);
      }
      const joined = new Uint8Array(this.#held.length + chunk.length);
      joined.set(this.#held);
      joined.set(chunk, this.#held.length);
      this.#held = joined;
    }
    const out = this.#held.slice(0, n);
    this.#held = this.#held.slice(n);
    return out;
  }

  #discardStray(): void {
    this.#held = new Uint8Array(0);
    this.#inbox.discardQueued();
  }

  /** Discards input until the adapter has been silent for a moment. */
  async #settle(): Promise<void> {
    this.#discardStray();
    const giveUpAt = Date.now() + this.#adapterTimeoutMs;
    while ((await this.#inbox.next(10)) !== null) {
      if (Date.now() > giveUpAt) throw new LinkError("timeout", "adapter never fell silent");
    }
  }
}
