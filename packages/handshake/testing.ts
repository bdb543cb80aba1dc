/**
 * Test support for code that drives a handshake: {@linkcode CountingProvider} wraps a crypto
 * provider, keeps the secret handles it issued and has not released, and can hold one call
 * open so a test can end a handshake mid-await; {@linkcode rsaDecrypt} is a test server's half
 * of RSA key exchange. Test code only.
 *
 * @example Hold the master secret call, then check every handle is given back
 * ```ts
 * import { CountingProvider } from "@anchortls/handshake/testing";
 * const provider = new CountingProvider();
 * const gate = provider.hold("masterSecret");
 * gate.open.resolve();
 * console.assert(await provider.settled() === 0);
 * ```
 *
 * @module
 */

export { CountingProvider, type Gate } from "./_counting_provider.ts";
export { rsaDecrypt } from "./_test_rsa.ts";
