/**
 * An in-memory pair of byte links for tests and emulators, with a hook per direction where
 * tests inject faults.
 *
 * @module
 */

import type { ByteLink } from "./byte_link.ts";

/**
 * Sees every chunk written in one direction and decides what arrives: the chunk unchanged, a
 * changed copy, several chunks, or nothing (an empty array). Tests use it to drop, flip,
 * truncate or inject bytes.
 */
export type LinkTap = (chunk: Uint8Array) => Uint8Array | readonly Uint8Array[];

/** Options for {@linkcode createMemoryLinkPair}. */
export interface MemoryLinkPairOptions {
  /** Applied to bytes travelling from the first link to the second. */
  aToB?: LinkTap;
  /** Applied to bytes travelling from the second link to the first. */
  bToA?: LinkTap;
}

/** One end of an in-memory pair. */
export interface MemoryLink extends ByteLink {
  /** The last rate passed to `setBaudRate`, for tests of a baud change. */
  readonly baudRate: number | undefined;
  /**
   * Records a line speed; in memory it changes nothing else.
   *
   * @param baudRate The new rate.
   */
  setBaudRate(baudRate: number): Promise<void>;
}

class Direction {
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  readonly readable: ReadableStream<Uint8Array>;
  readonly #tap: LinkTap | undefined;

  constructor(tap: LinkTap | undefined) {
    this.#tap = tap;
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.#closed = true;
      },
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  deliver(chunk: Uint8Array): void {
    if (this.#closed) throw new Error("memory link closed");
    const out = this.#tap ? this.#tap(chunk.slice()) : chunk.slice();
    const chunks = out instanceof Uint8Array ? [out] : out;
    for (const c of chunks) {
      if (c.length > 0) this.#controller.enqueue(c.slice());
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.close();
  }
}

class MemoryLinkEnd implements MemoryLink {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly #incoming: Direction;
  readonly #outgoing: Direction;
  #baudRate: number | undefined;

  constructor(incoming: Direction, outgoing: Direction) {
    this.#incoming = incoming;
    this.#outgoing = outgoing;
    this.readable = incoming.readable;
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => outgoing.deliver(chunk),
      close: () => outgoing.close(),
    });
  }

  get baudRate(): number | undefined {
    return this.#baudRate;
  }

  setBaudRate(baudRate: number): Promise<void> {
    this.#baudRate = baudRate;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#outgoing.close();
    this.#incoming.close();
    return Promise.resolve();
  }
}

/**
 * Creates two byte links wired to each other: what one writes, the other reads.
 *
 * Writes are delivered at once and never block; closing either end ends the other end's
 * readable side.
 *
 * @example Dropping the third byte sent from the second end
 * ```ts
 * import { createMemoryLinkPair } from "@anchortls/transport-serial";
 * let sent = 0;
 * const [host, device] = createMemoryLinkPair({
 *   bToA: (chunk) => chunk.filter(() => sent++ !== 2),
 * });
 * await host.close();
 * await device.close();
 * ```
 *
 * @param options Fault-injection hooks per direction.
 * @returns The two ends.
 */
export function createMemoryLinkPair(
  options: MemoryLinkPairOptions = {},
): [MemoryLink, MemoryLink] {
  const aToB = new Direction(options.aToB);
  const bToA = new Direction(options.bToA);
  return [new MemoryLinkEnd(bToA, aToB), new MemoryLinkEnd(aToB, bToA)];
}
