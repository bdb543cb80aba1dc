/**
 * The AES-GCM engine whose key stays inside the chip: each record is one PSO in the vendor's
 * GCM data forms (tc_api.c tcEncryptGcm, tcDecryptGcm) under the write key's handle; the AEAD
 * record layout around it (nonce, additional data, explicit nonce, one `bad_record_mac`) is the
 * record package's `AeadProtector`, the same as for the software engines.
 *
 * @module
 */

import { type AeadEngine, AlertDescription, TlsAlertError } from "@anchortls/record";
import type { ChipSession } from "./chip_cbc_hmac_engine.ts";
import { SeTemplate, TrustCoreAlgorithm } from "./trust_core_constants.ts";

/** ivLen, aadLen and the tag around a record's bytes in one GCM command. */
const GCM_OVERHEAD = 2 + 16;

/**
 * AES-GCM of one direction with its key in the chip, for the AEAD record layout
 * (`new AeadProtector({ algorithm: "aes-gcm", iv, engine })`). Each MSE and PSO pair runs under
 * exclusive access. A record whose command would not fit the chip's buffer is refused before
 * anything is sent: ours as `internal_error`, the peer's as `record_overflow` (the server
 * ignored the negotiated fragment limits).
 *
 * @param session Chip access of the provider that made the key.
 * @param keyFile The write key's handle.
 * @returns The engine.
 */
export function chipGcmEngine(session: ChipSession, keyFile: number): AeadEngine {
  const fits = (nonce: Uint8Array, aad: Uint8Array, length: number, received: boolean) => {
    const needed = GCM_OVERHEAD + nonce.length + aad.length + length;
    if (needed <= session.maxCommandData) return;
    throw new TlsAlertError(
      received ? AlertDescription.record_overflow : AlertDescription.internal_error,
      `a ${length}-byte GCM record needs a ${needed}-byte chip command, over the chip's ${session.maxCommandData}`,
    );
  };
  const select = async (chip: Parameters<Parameters<ChipSession["exclusive"]>[0]>[0]) => {
    await chip.setSecurityEnvironment(SeTemplate.confidentiality, {
      algorithm: TrustCoreAlgorithm.aesGcm,
      keyFile,
    });
  };
  return {
    seal(nonce, plaintext, aad) {
      session.checkLive();
      fits(nonce, aad, plaintext.length, false);
      const [n, p, a] = [nonce.slice(), plaintext.slice(), aad.slice()];
      return session.exclusive(async (chip) => {
        await select(chip);
        return await chip.encryptGcm(n, a, p);
      });
    },
    async open(nonce, sealed, aad) {
      session.checkLive();
      fits(nonce, aad, sealed.length - 16, true);
      const [n, s, a] = [nonce.slice(), sealed.slice(), aad.slice()];
      const plaintext = await session.exclusive(async (chip) => {
        await select(chip);
        return await chip.decryptGcm(n, a, s);
      });
      return plaintext ?? null;
    },
  };
}
