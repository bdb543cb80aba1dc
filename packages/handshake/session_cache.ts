/**
 * Client-side session cache for resumption by session ID (RFC 5246 §7.3, abbreviated
 * handshake). Only sessions whose master secret was bound to its handshake by the extended
 * master secret are kept (RFC 7627 §5.3): without it, resumption invites the triple
 * handshake attack.
 *
 * @module
 */

import type { CipherSuite } from "@anchortls/record";
import type { Certificate, Crl } from "@anchortls/x509";
import { sha256 } from "@noble/hashes/sha2.js";
import type { CryptoProvider, MasterSecretHandle } from "./crypto_provider.ts";
import { type PskCredentials, pskDigest } from "./psk.ts";

/** A resumable session: what an abbreviated handshake needs, and nothing else. */
export interface TlsSession {
  /**
   * The server's session ID, 0..32 bytes: empty when the session resumes only by its ticket
   * (a server that issues tickets may give no ID).
   */
  readonly id: Uint8Array;
  /**
   * The server's session ticket (RFC 5077), offered in the session_ticket extension; the
   * server alone can read it. Renewed tickets replace it in a new `TlsSession`.
   */
  readonly ticket?: Uint8Array;
  /**
   * When the ticket stops being worth offering, in ms since the epoch: its lifetime hint after
   * it arrived. Absent when the server gave no hint.
   */
  readonly ticketExpiresAt?: number;
  /** The master secret, held by {@linkcode TlsSession.provider}. */
  readonly master: MasterSecretHandle;
  /** The provider that holds the master secret; resumption must use the same one. */
  readonly provider: CryptoProvider;
  /**
   * The protocol the session was made with (`ProtocolVersion.tls12` or `dtls12`): a TLS
   * session is never offered over DTLS, nor the other way round (RFC 5246 §7.4.1.2).
   */
  readonly version: number;
  /** The suite the session was established with; the server must pick it again. */
  readonly suite: CipherSuite;
  /** Only EMS sessions are resumable. */
  readonly extendedMasterSecret: true;
  /** The validated server chain from the full handshake, leaf first. */
  readonly peerCertificates: readonly Certificate[];
  /** The name the server certificate was checked against. */
  readonly serverName: string | undefined;
  /** When the full handshake finished, in ms since the epoch. */
  readonly createdAt: number;
  /**
   * What the server's chain was validated under: a digest of the trust anchors (the set, in
   * any order). A connection with other anchors does a full handshake instead of resuming.
   */
  readonly trustDigest: string;
}

/** Sessions that a fatal alert ended: never resumed again (RFC 5246 §7.2.2). */
const invalidated = new WeakSet<TlsSession>();

/**
 * Marks a session never to be resumed: a connection that used it ended with a fatal alert,
 * sent or received (RFC 5246 §7.2.2). A `SessionCache` drops it at the next lookup, and a
 * handshake given it does a full handshake instead.
 *
 * @param session The session.
 * @returns Nothing.
 */
export function invalidateSession(session: TlsSession): void {
  invalidated.add(session);
}

/**
 * Whether a session may still be resumed (no fatal alert ended a connection that used it).
 *
 * @param session The session.
 * @returns False once {@linkcode invalidateSession} was called for it.
 */
export function isSessionResumable(session: TlsSession): boolean {
  return !invalidated.has(session);
}

/**
 * A digest of a set of trust anchors and revocation lists, independent of their order, for
 * binding a session to the trust its server chain was validated under.
 *
 * @param anchors The trust anchors.
 * @param crls The revocation lists.
 * @param psk The pre-shared key, when the session may be made with one.
 * @returns Hex SHA-256 over the sorted SHA-256 digests of the anchors' DER, then of the
 * CRLs' DER when there are any, then a digest of the PSK when there is one.
 */
export function trustAnchorDigest(
  anchors: readonly Certificate[],
  crls: readonly Crl[] = [],
  psk?: PskCredentials,
): string {
  const sorted = (ders: readonly Uint8Array[]) =>
    [...new Set(ders.map((der) => sha256(der).toHex()))].sort().join(",");
  const text = sorted(anchors.map((a) => a.der)) +
    (crls.length > 0 ? `;crl:${sorted(crls.map((c) => c.der))}` : "") +
    (psk ? `;psk:${pskDigest(psk)}` : "");
  return sha256(new TextEncoder().encode(text)).toHex();
}

/**
 * Whether a session's ticket has outlived its lifetime hint (RFC 5077 §3.3), so offering it
 * would only make the server refuse it.
 *
 * @param session The session.
 * @param now The current time in ms since the epoch.
 * @returns True past the hint; false without a ticket or a hint.
 */
export function ticketExpired(session: TlsSession, now: number): boolean {
  return session.ticketExpiresAt !== undefined && now > session.ticketExpiresAt;
}

/** Options for {@linkcode SessionCache}. */
export interface SessionCacheOptions {
  /** Most sessions kept; the oldest goes first. @default {32} */
  readonly maxEntries?: number;
  /** How long a session may be resumed, in ms. @default {7200000} (2 hours) */
  readonly lifetimeMs?: number;
}

/**
 * Keeps one resumable session per server key (e.g. `host:port`), oldest evicted first, and
 * releases a session's master secret in its provider when it is dropped.
 *
 * @example
 * ```ts
 * import { SessionCache } from "@anchortls/handshake";
 * const cache = new SessionCache({ maxEntries: 8 });
 * cache.get("localhost:4433", Date.now()); // undefined
 * ```
 */
export class SessionCache {
  readonly #sessions = new Map<string, TlsSession>();
  readonly #maxEntries: number;
  readonly #lifetimeMs: number;

  /**
   * Creates an empty cache.
   *
   * @param options Size and lifetime limits.
   */
  constructor(options: SessionCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 32;
    this.#lifetimeMs = options.lifetimeMs ?? 2 * 60 * 60 * 1000;
  }

  /** Number of sessions held. */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Returns the session for `key` if it is still fresh; drops it when it is stale.
   *
   * @param key The server key.
   * @param now The current time in ms since the epoch.
   * @returns The session, or `undefined`.
   */
  get(key: string, now: number): TlsSession | undefined {
    const session = this.#sessions.get(key);
    if (!session) return undefined;
    if (
      !isSessionResumable(session) || now - session.createdAt > this.#lifetimeMs ||
      now < session.createdAt || (session.id.length === 0 && ticketExpired(session, now))
    ) {
      this.delete(key);
      return undefined;
    }
    return session;
  }

  /**
   * Stores a session for `key`, replacing (and releasing) any older one.
   *
   * @param key The server key.
   * @param session The session; must have EMS.
   * @throws {TypeError} For a session without the extended master secret.
   */
  set(key: string, session: TlsSession): void {
    if (session.extendedMasterSecret !== true) {
      throw new TypeError("sessions without extended master secret are not resumable");
    }
    const old = this.#sessions.get(key);
    // A renewed ticket comes as a new session over the same master secret: keep that.
    if (old && old.master !== session.master) this.#drop(old);
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
    while (this.#sessions.size > this.#maxEntries) {
      const [oldestKey] = this.#sessions.keys();
      this.delete(oldestKey!);
    }
  }

  /**
   * Forgets the session for `key` and releases its master secret.
   *
   * @param key The server key.
   */
  delete(key: string): void {
    const session = this.#sessions.get(key);
    if (!session) return;
    this.#sessions.delete(key);
    this.#drop(session);
  }

  /** Forgets every session and releases their master secrets. */
  clear(): void {
    for (const key of [...this.#sessions.keys()]) this.delete(key);
  }

  #drop(session: TlsSession): void {
    // Releasing is best effort: a chip that went away has lost the slot anyway.
    session.provider.release(session.master).catch(() => {});
  }
}
