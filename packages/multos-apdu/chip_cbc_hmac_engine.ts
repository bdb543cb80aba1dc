/**
 * The CBC-HMAC engine whose keys stay inside the chip: the chip encrypts, decrypts and computes
 * HMACs under key handles; the record layout around it (IV placement, padding, MAC order,
 * lengths, the masked MAC-then-encrypt check, one `bad_record_mac` for every failure) is the
 * record package's `CbcHmacProtector`, the same as for the software engines. Encrypt-then-MAC
 * (RFC 7366) is assembled there from the chip's separate encrypt and MAC operations.
 *
 * @module
 */

import {
  AlertDescription,
  type CbcCipherSuite,
  type CbcHmacEngine,
  concatBytes,
  TlsAlertError,
} from "@anchortls/record";
import type { TrustCore } from "./trust_core.ts";
import { SeTemplate, TrustCoreAlgorithm } from "./trust_core_constants.ts";

const BLOCK = 16;

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

/**
 * AES-CBC and HMAC of one direction with keys that stay in the chip, for the record layout
 * (`new CbcHmacProtector({ suite, encryptThenMac, engine })`). Each MSE and its PSO run under
 * exclusive access; inputs are read before the call returns. It has no constant-cost MAC: a
 * MAC-then-encrypt record's padding is still read with masks on the host, but the chip's HMAC
 * time follows the content length (the small channel RFC 5246 §6.2.3.2 accepts).
 *
 * @param session Chip access of the provider that made the keys.
 * @param suite The negotiated suite.
 * @param keys This direction's MAC and encryption key handles.
 * @returns The engine.
 */
export function chipCbcHmacEngine(
  session: ChipSession,
  suite: CbcCipherSuite,
  keys: ChipDirectionKeys,
): CbcHmacEngine {
  const macAlgorithm = suite.macAlgorithm === "sha1"
    ? TrustCoreAlgorithm.hmacSha1
    : TrustCoreAlgorithm.hmacSha256;
  const cipher = (encrypt: boolean, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> => {
    session.checkLive();
    const ivCopy = iv.slice();
    const dataCopy = data.slice();
    return session.exclusive(async (chip) => {
      await chip.setSecurityEnvironment(SeTemplate.confidentiality, {
        algorithm: TrustCoreAlgorithm.aesCbc,
        keyFile: keys.enc,
      });
      return encrypt ? await chip.encrypt(ivCopy, dataCopy) : await chip.decrypt(ivCopy, dataCopy);
    });
  };
  return {
    randomIv() {
      session.checkLive();
      return session.random(BLOCK);
    },
    checkRecordLength(operation, length, encryptThenMac) {
      session.checkLive();
      const limit = session.maxCommandData;
      const macLength = suite.macLength;
      if (operation === "open") {
        // EtM MACs header ‖ IV ‖ ciphertext; MtE decrypts IV ‖ ciphertext and MACs at most that.
        const needed = encryptThenMac ? MAC_HEADER + length - macLength : length;
        if (needed > limit) throw tooLargeForChip("received", length, needed, limit);
        return;
      }
      const paddedLength = (length + (encryptThenMac ? 0 : macLength)) & ~(BLOCK - 1);
      const needed = Math.max(
        BLOCK + paddedLength + BLOCK,
        MAC_HEADER + (encryptThenMac ? BLOCK + paddedLength + BLOCK : length),
      );
      if (needed > limit) throw tooLargeForChip("sent", length, needed, limit);
    },
    encrypt: (iv, blocks) => cipher(true, iv, blocks),
    decrypt: (iv, blocks) => cipher(false, iv, blocks),
    mac(parts) {
      session.checkLive();
      const input = concatBytes([...parts]);
      return session.exclusive(async (chip) => {
        await chip.setSecurityEnvironment(SeTemplate.signature, {
          algorithm: macAlgorithm,
          keyFile: keys.mac,
        });
        return await chip.signOrMac(input);
      });
    },
  };
}
