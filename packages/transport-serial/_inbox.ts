/**
 * Internal: a pump that reads a link's readable side into a queue, so that drivers can wait for
 * the next chunk with a deadline and learn when the link has ended.
 *
 * @module
 */

interface Waiter {
  resolve(chunk: Uint8Array | null): void;
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Raised by {@linkcode Inbox.next} once the readable side has ended or failed. */
export class InboxClosed extends Error {
  constructor(options?: ErrorOptions) {
    super("link closed", options);
    this.name = "InboxClosed";
  }
}

export class Inbox {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #chunks: Uint8Array[] = [];
  readonly #pumped: Promise<void>;
  #waiter: Waiter | undefined;
  #ended: InboxClosed | undefined;

  constructor(readable: ReadableStream<Uint8Array>) {
    this.#reader = readable.getReader();
    this.#pumped = this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        if (value.length === 0) continue;
        const waiter = this.#waiter;
        if (waiter) {
          this.#waiter = undefined;
          clearTimeout(waiter.timer);
          waiter.resolve(value);
        } else {
          this.#chunks.push(value);
        }
      }
      this.#end(new InboxClosed());
    } catch (error) {
      this.#end(new InboxClosed({ cause: error }));
    }
  }

  #end(reason: InboxClosed): void {
    this.#ended ??= reason;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      clearTimeout(waiter.timer);
      waiter.reject(this.#ended);
    }
  }

  /** True once the readable side has ended. */
  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /**
   * The next chunk, or null when `timeoutMs` passes first (no deadline when undefined).
   * Rejects with InboxClosed when the link has ended and nothing is queued.
   */
  next(timeoutMs?: number): Promise<Uint8Array | null> {
    const queued = this.#chunks.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#ended) return Promise.reject(this.#ended);
    if (this.#waiter) return Promise.reject(new Error("concurrent Inbox.next"));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          if (this.#waiter === waiter) this.#waiter = undefined;
          resolve(null);
        }, Math.max(0, timeoutMs));
      }
      this.#waiter = waiter;
    });
  }

  /** Removes and returns the total length of every chunk already queued. */
  discardQueued(): number {
    let n = 0;
    for (const c of this.#chunks.splice(0)) n += c.length;
    return n;
  }

  /** Stops the pump and waits for it to finish. */
  async close(): Promise<void> {
    this.#end(new InboxClosed());
    try {
      await this.#reader.cancel();
    } catch {
      // The link may already have failed; the pump has recorded why.
    }
    await this.#pumped;
    this.#reader.releaseLock();
  }
}
