/**
 * The TLS 1.2 and DTLS 1.2 record layer of anchortls: record header codecs and limits,
 * sans-IO deframing of TLS byte streams and DTLS datagrams, AES-CBC + HMAC record protection
 * (MAC-then-encrypt with Lucky 13 countermeasures, and Encrypt-then-MAC), sequence numbers,
 * the DTLS replay window, Web Streams that read and write records, and the TLS alert error
 * type and wire readers/writers the rest of the stack shares.
 *
 * @example Sealing a record and reading it back from a byte stream
 * ```ts
 * import { CbcHmacProtector, CipherSuites, RecordReader, RecordWriter } from "@anchortls/record";
 * const keys = {
 *   suite: CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA256,
 *   encryptThenMac: true,
 *   encKey: crypto.getRandomValues(new Uint8Array(16)),
 *   macKey: crypto.getRandomValues(new Uint8Array(32)),
 * };
 * const writer = new RecordWriter({ protector: new CbcHmacProtector(keys) });
 * const reader = new RecordReader({ protector: new CbcHmacProtector(keys) });
 * const w = writer.writable.getWriter();
 * w.write(new TextEncoder().encode("hello"));
 * w.close();
 * for await (const record of writer.readable.pipeThrough(reader)) {
 *   new TextDecoder().decode(record.fragment); // "hello"
 * }
 * ```
 *
 * @module
 */

export * from "./aead_engine.ts";
export * from "./aead_protector.ts";
export * from "./aes_ccm.ts";
export * from "./alert.ts";
export * from "./cbc_hmac.ts";
export * from "./cbc_hmac_engine.ts";
export * from "./cipher_suite.ts";
export * from "./codec.ts";
export * from "./connection_id.ts";
export * from "./connection_state.ts";
export * from "./constant_time.ts";
export * from "./content_type.ts";
export * from "./deframer.ts";
export * from "./header.ts";
export * from "./protector.ts";
export * from "./replay_window.ts";
export * from "./sequence.ts";
export * from "./streams.ts";
export * from "./suite_protector.ts";
