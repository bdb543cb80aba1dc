/**
 * The TLS 1.2 and DTLS 1.2 record layer: wire codecs, alerts, record protection and the DTLS
 * replay window.
 *
 * @module
 */

export * from "./alert.ts";
export * from "./cbc_hmac.ts";
export * from "./cipher_suite.ts";
export * from "./codec.ts";
export * from "./content_type.ts";
export * from "./protector.ts";
export * from "./sequence.ts";
