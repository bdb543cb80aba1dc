/**
 * Record protection with both keys inside the chip: the host frames, pads and compares, the
 * chip encrypts, decrypts and computes HMACs under key handles. MAC-then-encrypt is the
 * vendor's record layout; Encrypt-then-MAC (RFC 7366) is assembled here from the chip's
 * separate encrypt and MAC operations.
 *
 * @module
 */

import {
  AlertDescription,
  type CbcCipherSuite,
  constantTimeEqual,
  type RecordContext,
  type RecordProtector,
  TlsAlertError,
} from "@anchortls/record";
import { concatBytes } from "@anchortls/record";
import type { TrustCore } from "./trust_core.ts";
import { SeTemplate, TrustCoreAlgorithm } from "./trust_core_constants.ts";

const BLOCK = 16;
const MAX_PLAINTEXT = 16384;
const MAX_CIPHERTEXT = 16384 + 2048;

/** What a chip protector needs from its provider: exclusive chip access and fresh IVs. */
export interface ChipSession {
  /** Runs `operation` with the chip to itself, so MSE and PSO pairs never interleave. */
  exclusive<T>(operation: (chip: TrustCore) => Promise<T>): Promise<T>;
  /** Random bytes from the chip (pooled). */
  random(length: number): Promise<Uint8Array>;
  /** Throws when the session's keys were erased. */
  checkLive(): void;
  /** Most data bytes one chip command carries (the chip buffer less the APDU's own bytes). */
  readonly maxCommandData: number;
}

/** Key handles of one direction. */
export interface ChipDirectionKeys {
  /** Handle of the MAC key. */
  readonly mac: number;
  /** Handle of the AES key. */
  readonly enc: number;
}

function badRecordMac(): TlsAlertError {
  return new TlsAlertError(AlertDescription.bad_record_mac, "record failed authentication");
}

const MAC_HEADER = 13;

/**
 * A record whose MAC or cipher input does not fit one chip command. The vendor's sign
 * refuses more than one buffer, so the record is refused here, before anything is sent, and
 * named as what it is rather than a MAC failure.
 */
function tooLargeForChip(
  direction: "received" | "sent",
  length: number,
  needed: number,
  limit: number,
): TlsAlertError {
  return direction === "received"
    ? new TlsAlertError(
      AlertDescription.record_overflow,
      `a received record of ${length} bytes needs a ${needed}-byte chip command, over the chip's ${limit}: the server ignored max_fragment_length and record_size_limit (connectTls options maxFragmentLength, recordSizeLimit)`,
    )
    : new TlsAlertError(
      AlertDescription.internal_error,
      `a ${length}-byte plaintext needs a ${needed}-byte chip command, over the chip's ${limit}; records must be fragmented to the negotiated limit`,
    );
}

function macHeader(context: RecordContext, length: number): Uint8Array {
  const header = new Uint8Array(MAC_HEADER);
  new DataView(header.buffer).setBigUint64(0, context.sequence);
  header[8] = context.type;
  header[9] = context.version >> 8;
  header[10] = context.version & 0xff;
  header[11] = length >> 8;
  header[12] = length & 0xff;
  return header;
}

function padded(content: Uint8Array, tail: Uint8Array): Uint8Array {
  const unpadded = content.length + tail.length;
  const padLength = BLOCK - 1 - unpadded % BLOCK;
  const out = new Uint8Array(unpadded + padLength + 1);
  out.set(content);
  out.set(tail, content.length);
  out.fill(padLength, unpadded);
  return out;
}

/**
 * Protects or unprotects records of one direction with keys that stay in the chip.
 *
 * Every failure to open a record is `bad_record_mac`. With MAC-then-encrypt a bad padding is
 * MACed as if the pad were empty (RFC 5246 §6.2.3.2), so the chip always computes a MAC; the
 * time the chip takes for it still depends on the length, the small channel the RFC accepts.
 */
export class ChipRecordProtector implements RecordProtector {
  /** IV, MAC and up to a block of padding. */
  readonly maxExpansion: number;
  readonly #session: ChipSession;
  readonly #suite: CbcCipherSuite;
  readonly #keys: ChipDirectionKeys;
  readonly #encryptThenMac: boolean;
  readonly #macAlgorithm: number;

  /**
   * Creates a protector over key handles.
   *
   * @param session Chip access of the provider that made the keys.
   * @param suite The negotiated suite.
   * @param keys This direction's MAC and encryption key handles.
   * @param encryptThenMac Whether RFC 7366 was negotiated.
   */
  constructor(
    session: ChipSession,
    suite: CbcCipherSuite,
    keys: ChipDirectionKeys,
    encryptThenMac: boolean,
  ) {
    this.#session = session;
    this.#suite = suite;
    this.#keys = keys;
    this.#encryptThenMac = encryptThenMac;
    this.#macAlgorithm = suite.macAlgorithm === "sha1"
      ? TrustCoreAlgorithm.hmacSha1
      : TrustCoreAlgorithm.hmacSha256;
    this.maxExpansion = suite.recordIvLength + suite.macLength + BLOCK;
  }

  async #mac(chip: TrustCore, input: Uint8Array): Promise<Uint8Array> {
    await chip.setSecurityEnvironment(SeTemplate.signature, {
      algorithm: this.#macAlgorithm,
      keyFile: this.#keys.mac,
    });
    return await chip.signOrMac(input);
  }

  async #cipher(
    chip: TrustCore,
    encrypt: boolean,
    iv: Uint8Array,
    data: Uint8Array,
  ): Promise<Uint8Array> {
    await chip.setSecurityEnvironment(SeTemplate.confidentiality, {
      algorithm: TrustCoreAlgorithm.aesCbc,
      keyFile: this.#keys.enc,
    });
    return encrypt ? await chip.encrypt(iv, data) : await chip.decrypt(iv, data);
  }

  /**
   * Protects one fragment in the chip.
   *
   * @param context Header fields and sequence number.
   * @param plaintext At most 2^14 bytes.
   * @returns IV ‖ ciphertext (‖ MAC with Encrypt-then-MAC).
   */
  async seal(context: RecordContext, plaintext: Uint8Array): Promise<Uint8Array> {
    if (plaintext.length > MAX_PLAINTEXT) {
      throw new TlsAlertError(
        AlertDescription.internal_error,
        "plaintext fragment over 2^14 bytes",
      );
    }
    this.#session.checkLive();
    const paddedLength = (plaintext.length + (this.#encryptThenMac ? 0 : this.#suite.macLength)) &
      ~(BLOCK - 1);
    const needed = Math.max(
      BLOCK + paddedLength + BLOCK,
      MAC_HEADER + (this.#encryptThenMac ? BLOCK + paddedLength + BLOCK : plaintext.length),
    );
    if (needed > this.#session.maxCommandData) {
      throw tooLargeForChip("sent", plaintext.length, needed, this.#session.maxCommandData);
    }
    const iv = await this.#session.random(BLOCK);
    return await this.#session.exclusive(async (chip) => {
      if (this.#encryptThenMac) {
        const ciphertext = await this.#cipher(chip, true, iv, padded(plaintext, new Uint8Array(0)));
        const body = concatBytes([iv, ciphertext]);
        const mac = await this.#mac(chip, concatBytes([macHeader(context, body.length), body]));
        return concatBytes([body, mac]);
      }
      const mac = await this.#mac(
        chip,
        concatBytes([macHeader(context, plaintext.length), plaintext]),
      );
      return concatBytes([iv, await this.#cipher(chip, true, iv, padded(plaintext, mac))]);
    });
  }

  /**
   * Checks and removes protection in the chip.
   *
   * @param context Header fields and sequence number.
   * @param fragment IV ‖ ciphertext (‖ MAC).
   * @returns The plaintext.
   * @throws {TlsAlertError} `bad_record_mac` for every failure.
   */
  async open(context: RecordContext, fragment: Uint8Array): Promise<Uint8Array> {
    this.#session.checkLive();
    const macLength = this.#suite.macLength;
    if (fragment.length > MAX_CIPHERTEXT) throw badRecordMac();
    // EtM MACs header ‖ IV ‖ ciphertext; MtE decrypts IV ‖ ciphertext and MACs at most that.
    const needed = this.#encryptThenMac
      ? MAC_HEADER + fragment.length - macLength
      : fragment.length;
    if (needed > this.#session.maxCommandData) {
      throw tooLargeForChip("received", fragment.length, needed, this.#session.maxCommandData);
    }
    if (this.#encryptThenMac) {
      const bodyLength = fragment.length - macLength;
      if (bodyLength < 2 * BLOCK || bodyLength % BLOCK !== 0) throw badRecordMac();
      const body = fragment.subarray(0, bodyLength);
      return await this.#session.exclusive(async (chip) => {
        const mac = await this.#mac(chip, concatBytes([macHeader(context, bodyLength), body]));
        if (!constantTimeEqual(mac, fragment.subarray(bodyLength))) throw badRecordMac();
        const plain = await this.#cipher(
          chip,
          false,
          body.subarray(0, BLOCK),
          body.subarray(BLOCK),
        );
        const padLength = plain[plain.length - 1]!;
        let bad = padLength + 1 > plain.length ? 1 : 0;
        for (let i = Math.max(0, plain.length - 1 - padLength); i < plain.length; i++) {
          bad |= plain[i]! ^ padLength;
        }
        if (bad) throw badRecordMac();
        return plain.slice(0, plain.length - padLength - 1);
      });
    }
    const cipherLength = fragment.length - BLOCK;
    if (cipherLength < Math.ceil((macLength + 1) / BLOCK) * BLOCK || cipherLength % BLOCK !== 0) {
      throw badRecordMac();
    }
    return await this.#session.exclusive(async (chip) => {
      const plain = await this.#cipher(
        chip,
        false,
        fragment.subarray(0, BLOCK),
        fragment.subarray(BLOCK),
      );
      const n = plain.length;
      const padLength = plain[n - 1]!;
      let bad = padLength + 1 + macLength > n ? 1 : 0;
      const checkFrom = bad ? n - 1 : n - 1 - padLength;
      for (let i = checkFrom; i < n; i++) bad |= plain[i]! ^ padLength;
      const contentLength = n - macLength - 1 - (bad ? 0 : padLength);
      const content = plain.subarray(0, contentLength);
      const mac = await this.#mac(chip, concatBytes([macHeader(context, contentLength), content]));
      const macOk = constantTimeEqual(
        mac,
        plain.subarray(contentLength, contentLength + macLength),
      );
      if (bad || !macOk) throw badRecordMac();
      return content.slice();
    });
  }
}
