/**
 * Internal: what every APDU transport does the same way around its own wire protocol: holds
 * the link exclusively, runs one command at a time, checks each APDU's size and picks its
 * deadline, and closes in order (queued commands fail, reading stops, then the link closes).
 *
 * @module
 */

import type { ByteLink, TransmitOptions } from "./byte_link.ts";
import {
  type CommandTimeoutClass,
  type CommandTimeouts,
  trustCoreTimeoutClass,
} from "./command_timeouts.ts";
import { Inbox } from "./_inbox.ts";
import { LinkError } from "./link_error.ts";

export interface CommandQueueOptions {
  timeouts?: Partial<CommandTimeouts> | undefined;
  classify?: ((apdu: Uint8Array) => CommandTimeoutClass) | undefined;
  maxApduLength?: number | undefined;
}

export class CommandQueue {
  readonly link: ByteLink;
  readonly inbox: Inbox;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #timeouts: CommandTimeouts;
  readonly #classify: (apdu: Uint8Array) => CommandTimeoutClass;
  readonly #maxApduLength: number;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(link: ByteLink, options: CommandQueueOptions) {
    this.link = link;
    this.inbox = new Inbox(link.readable);
    this.writer = link.writable.getWriter();
    this.#timeouts = { standard: 1000, long: 5000, keyGeneration: 30000, ...options.timeouts };
    this.#classify = options.classify ?? trustCoreTimeoutClass;
    this.#maxApduLength = options.maxApduLength ?? 3000;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues one APDU: a copy of it, refused with `size` when outside 4..maxApduLength bytes,
   * goes to `exchange` with the deadline of its timeout class unless `options` overrides it.
   */
  transmit(
    apdu: Uint8Array,
    options: TransmitOptions,
    exchange: (command: Uint8Array, timeoutMs: number) => Promise<Uint8Array>,
  ): Promise<Uint8Array> {
    const command = apdu.slice();
    return this.enqueue(async () => {
      if (command.length < 4 || command.length > this.#maxApduLength) {
        throw new LinkError(
          "size",
          `APDU of ${command.length} bytes (must be 4..${this.#maxApduLength})`,
          { command },
        );
      }
      const timeoutMs = options.timeoutMs ?? this.#timeouts[this.#classify(command)];
      return await exchange(command, timeoutMs);
    });
  }

  /** Runs `job` after every job queued before it; fails it with `closed` once closed. */
  enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      if (this.#closed) throw new LinkError("closed", "transport closed");
      return job();
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.inbox.close();
    await this.#tail;
    try {
      this.writer.releaseLock();
    } finally {
      await this.link.close();
    }
  }
}
