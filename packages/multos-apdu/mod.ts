/**
 * The MULTOS Trust Anchor for anchortls: APDU codecs (ISO/IEC 7816-4 short and extended, and
 * the chip's command mode), a sans-IO exchange core with its channel shell, a typed client for
 * the Trust Core applet, a faithful software emulator of it, and `MultosCryptoProvider`, the
 * handshake's `CryptoProvider` with every TLS secret inside the chip (`full`) or only the
 * device identity there (`hybrid`).
 *
 * @example A full-policy provider over the in-process emulator
 * ```ts
 * import { MultosCryptoProvider, TrustCoreEmulator } from "@anchortls/multos-apdu";
 *
 * const chip = new TrustCoreEmulator({ pin: "1234" });
 * const provider = await MultosCryptoProvider.open(
 *   { transmit: (apdu) => Promise.resolve(chip.handle(apdu)) },
 *   { policy: "full", pin: "1234" },
 * );
 * const clientRandom = await provider.random(32); // from the chip's generator
 * clientRandom.length; // 32
 * await provider.close();
 * ```
 *
 * @module
 */

export * from "./apdu_error.ts";
export * from "./channel.ts";
export * from "./chip_cbc_hmac_engine.ts";
export * from "./chip_gcm_engine.ts";
export { CHIP_CIPHER_SUITES, CHIP_GCM_SUITES, CHIP_GROUPS } from "./_chip_session_crypto.ts";
export * from "./command.ts";
export * from "./emulator.ts";
export * from "./exchange.ts";
export * from "./multos_crypto_provider.ts";
export * from "./response.ts";
export * from "./status_word.ts";
export * from "./trust_core.ts";
export * from "./trust_core_constants.ts";

// Types from the packages below this one that appear in this package's signatures, so its
// documentation is complete without them.
export type {
  CryptoPolicy,
  CryptoProvider,
  EncryptedPremaster,
  FinishedLabel,
  HelloRandoms,
  MasterSecretContext,
  MasterSecretHandle,
  Placement,
  PortableMasterSecret,
  PremasterHandle,
  ProviderOperation,
  RecordKeyOptions,
  RecordKeys,
  RecordRequirements,
  SecretHandle,
} from "@anchortls/handshake";
export type { KeyAgreement } from "@anchortls/handshake";
export type {
  AeadAlgorithm,
  AeadCipherSuite,
  AeadEngine,
  CbcCipherSuite,
  CbcHmacEngine,
  CipherSuite,
  CipherSuiteCommon,
  KeyExchange,
  PrfHash,
  RecordContext,
  RecordProtector,
} from "@anchortls/record";
export type { ApduTransport, TransmitOptions } from "@anchortls/transport-serial";
export type { PublicKeyInfo } from "@anchortls/x509";
