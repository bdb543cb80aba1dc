import assert from "node:assert/strict";
import { cipherSuiteById, CipherSuites } from "./cipher_suite.ts";

Deno.test("the CBC suites match RFC 5246 Appendix A.5 and C, RFC 4492 and RFC 5289", () => {
  const rows = Object.values(CipherSuites).flatMap((s) =>
    s.kind === "cbc"
      ? [[
        s.id,
        s.name,
        s.keyExchange,
        s.prfHash,
        s.encKeyLength,
        s.macAlgorithm,
        s.macLength,
        s.macKeyLength,
        s.blockLength,
        s.recordIvLength,
      ]]
      : []
  );
  assert.deepEqual(rows, [
    [0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", "rsa", "sha256", 16, "sha1", 20, 20, 16, 16],
    [0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "rsa", "sha256", 32, "sha1", 20, 20, 16, 16],
    [0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", "rsa", "sha256", 16, "sha256", 32, 32, 16, 16],
    [0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", "rsa", "sha256", 32, "sha256", 32, 32, 16, 16],
    [
      0xc009,
      "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
      "ecdhe_ecdsa",
      "sha256",
      16,
      "sha1",
      20,
      20,
      16,
      16,
    ],
    [
      0xc00a,
      "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
      "ecdhe_ecdsa",
      "sha256",
      32,
      "sha1",
      20,
      20,
      16,
      16,
    ],
    [
      0xc013,
      "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
      "ecdhe_rsa",
      "sha256",
      16,
      "sha1",
      20,
      20,
      16,
      16,
    ],
    [
      0xc014,
      "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
      "ecdhe_rsa",
      "sha256",
      32,
      "sha1",
      20,
      20,
      16,
      16,
    ],
    [
      0xc023,
      "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
      "ecdhe_ecdsa",
      "sha256",
      16,
      "sha256",
      32,
      32,
      16,
      16,
    ],
    [
      0xc024,
      "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
      "ecdhe_ecdsa",
      "sha384",
      32,
      "sha384",
      48,
      48,
      16,
      16,
    ],
    [
      0xc027,
      "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
      "ecdhe_rsa",
      "sha256",
      16,
      "sha256",
      32,
      32,
      16,
      16,
    ],
    [
      0xc028,
      "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
      "ecdhe_rsa",
      "sha384",
      32,
      "sha384",
      48,
      48,
      16,
      16,
    ],
  ]);
});

Deno.test("the AEAD suites match RFC 5288, RFC 5289, RFC 7251 and RFC 7905", () => {
  const rows = Object.values(CipherSuites).flatMap((s) =>
    s.kind === "aead"
      ? [[
        s.id,
        s.name,
        s.keyExchange,
        s.prfHash,
        s.aead,
        s.encKeyLength,
        s.fixedIvLength,
        s.recordIvLength,
        s.tagLength,
      ]]
      : []
  );
  assert.deepEqual(rows, [
    [0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", "rsa", "sha256", "aes-gcm", 16, 4, 8, 16],
    [0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", "rsa", "sha384", "aes-gcm", 32, 4, 8, 16],
    [
      0xc02b,
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "ecdhe_ecdsa",
      "sha256",
      "aes-gcm",
      16,
      4,
      8,
      16,
    ],
    [
      0xc02c,
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "ecdhe_ecdsa",
      "sha384",
      "aes-gcm",
      32,
      4,
      8,
      16,
    ],
    [
      0xc02f,
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "ecdhe_rsa",
      "sha256",
      "aes-gcm",
      16,
      4,
      8,
      16,
    ],
    [
      0xc030,
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "ecdhe_rsa",
      "sha384",
      "aes-gcm",
      32,
      4,
      8,
      16,
    ],
    [
      0xcca8,
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
      "ecdhe_rsa",
      "sha256",
      "chacha20-poly1305",
      32,
      12,
      0,
      16,
    ],
    [
      0xcca9,
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
      "ecdhe_ecdsa",
      "sha256",
      "chacha20-poly1305",
      32,
      12,
      0,
      16,
    ],
    [0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "ecdhe_ecdsa", "sha256", "aes-ccm", 16, 4, 8, 16],
    [
      0xc0ae,
      "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
      "ecdhe_ecdsa",
      "sha256",
      "aes-ccm-8",
      16,
      4,
      8,
      8,
    ],
  ]);
});

Deno.test("cipherSuiteById finds every suite and nothing else", () => {
  for (const suite of Object.values(CipherSuites)) assert.equal(cipherSuiteById(suite.id), suite);
  for (const id of [0, 0x0030, 0x0005, 0xc02e, 0xc0ad, 0xccaa, 0x00ff, -1]) {
    assert.equal(cipherSuiteById(id), undefined);
  }
  for (const suite of Object.values(CipherSuites)) assert.ok(Object.isFrozen(suite));
});
