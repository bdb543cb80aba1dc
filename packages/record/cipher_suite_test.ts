import assert from "node:assert/strict";
import { cipherSuiteById, CipherSuites } from "./cipher_suite.ts";

Deno.test("the suite table matches RFC 5246 Appendix A.5 and C", () => {
  const rows = Object.values(CipherSuites).map((s) => [
    s.id,
    s.name,
    s.encKeyLength,
    s.macAlgorithm,
    s.macLength,
    s.macKeyLength,
    s.blockLength,
    s.recordIvLength,
  ]);
  assert.deepEqual(rows, [
    [0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", 16, "sha1", 20, 20, 16, 16],
    [0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", 32, "sha1", 20, 20, 16, 16],
    [0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", 16, "sha256", 32, 32, 16, 16],
    [0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", 32, "sha256", 32, 32, 16, 16],
  ]);
});

Deno.test("cipherSuiteById finds the four suites and nothing else", () => {
  for (const suite of Object.values(CipherSuites)) assert.equal(cipherSuiteById(suite.id), suite);
  for (const id of [0, 0x0030, 0x009c, 0xc02f, 0x00ff, -1]) {
    assert.equal(cipherSuiteById(id), undefined);
  }
  assert.ok(Object.isFrozen(CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA));
});
