/**
 * Golden bytes: every command the `TrustCore` client sends, pinned to a table transcribed by
 * hand from the vendor's host code (GitHub maosco/trust_core). Each row names the file and
 * function whose `multosSendAPDU(CLA, INS, P1, P2, Lc, Le, &La, case4, …)` call it copies, with
 * the command-mode encoding of `workspace/multosio_i2c.so/apdu.c` multosSendAPDU: header ‖
 * Le(2) when Lc is 0; header ‖ Lc(2) ‖ data, then Le(2) only when Le > 0 or case4. The table
 * is plain hex, written from that code and not from this package's, so neither the client
 * nor the emulator can move it; the emulator must take every row with its own answer.
 */

import assert from "node:assert/strict";
import { decodeResponse } from "./response.ts";
import { TrustCore } from "./trust_core.ts";
import { PIN, provisionedChip } from "./_test_support.ts";
import {
  AccessCondition,
  PinReference,
  SeTemplate,
  TrustCoreAlgorithm as Alg,
} from "./trust_core_constants.ts";

const AID = "a00000014454434f5245";
const R32 = "11".repeat(32);
const S32 = "22".repeat(32);
const H32 = "33".repeat(32);
const IV = "44".repeat(16);
const BLOCKS = "55".repeat(32);
const MOD = "c1".repeat(256);

interface Row {
  /** The vendor file and function the bytes are taken from. */
  readonly vendor: string;
  /** The command APDU in command mode, as the vendor's code sends it. */
  readonly hex: string;
  /** The same command through our client. */
  readonly call: (tc: TrustCore) => Promise<unknown>;
  /** What the canned chip answers: data, followed by 9000 unless `sw` is given. */
  readonly answer?: string;
  /** The status word to answer with. @default {"9000"} */
  readonly sw?: string;
}

const TABLE: readonly Row[] = [
  {
    vendor: "multosio_i2c.so/apdu.c multosSelectApplication(TC_AID) via tc_api.c tcSelectApp",
    hex: "00a4040c000a" + AID,
    call: (tc) => tc.select(),
  },
  {
    vendor: "multosio_i2c.so/apdu.c multosDeselectCurrApplication (SELECT 3F00)",
    hex: "00a40000" + "0002" + "3f00",
    call: (tc) => tc.deselect(),
  },
  {
    vendor: "tc_api.c tcVerifyPIN2(TC_PINREF_G, pin): Lc 12, no Le",
    hex: "80200001000c" + "31323334ffffffffffffffff",
    call: (tc) => tc.verifyPin("1234", PinReference.user),
  },
  {
    vendor: "tc_api.c tcVerifyPIN2(ref, NULL): Lc 0, Le 0 → tries left as 63Cx",
    hex: "802000010000",
    call: (tc) => tc.pinTriesLeft(PinReference.user),
    sw: "63c3",
  },
  {
    vendor: "tc_api.c tcMseSetAlgo(TC_ALGO_SHA256_HMAC, TC_TEMPLATE_DIGITAL_SIG)",
    hex: "802241b60003" + "800107",
    call: (tc) => tc.setSecurityEnvironment(SeTemplate.signature, { algorithm: Alg.hmacSha256 }),
  },
  {
    vendor: "tc_api.c tcMseSetKeyFile(0x6212, TC_TEMPLATE_DIGITAL_SIG)",
    hex: "802241b60004" + "81026212",
    call: (tc) => tc.setSecurityEnvironment(SeTemplate.signature, { keyFile: 0x6212 }),
  },
  {
    vendor: "tc_api.c tcMseSetCipherSuite(0x003C): template BA, tag 85",
    hex: "802241ba0004" + "8502003c",
    call: (tc) => tc.setSecurityEnvironment(SeTemplate.tls, { cipherSuite: 0x003c }),
  },
  {
    vendor: "tc_api.c tcMseSetTlsKeyLengths(16, 32, 16): template BA, tag 86",
    hex: "802241ba0005" + "8603102010",
    call: (tc) =>
      tc.setSecurityEnvironment(SeTemplate.tls, { keyLengths: { key: 16, mac: 32, iv: 16 } }),
  },
  {
    vendor: "tc_api.c tcMseSetAlgo(TC_ALGO_RSA, TC_TEMPLATE_CONFIDENTIALITY)",
    hex: "802241b80003" + "800101",
    call: (tc) =>
      tc.setSecurityEnvironment(SeTemplate.confidentiality, { algorithm: Alg.rsaPkcs1 }),
  },
  {
    vendor: "tc_api.c tcMseRestore(TC_ALGO_TLS) as key_management.c calls it: P1 F3, P2 02",
    hex: "8022f3020000",
    call: (tc) => tc.restoreSecurityEnvironment(2),
  },
  {
    vendor: "tc_api.c tcLoadUntrustedPublicKey: expLen ‖ modLen ‖ exp(3) ‖ modulus, no Le",
    hex: "80e600000106" + "03" + "0100" + "010001" + MOD,
    call: (tc) => tc.loadUntrustedRsaKey(Uint8Array.fromHex(MOD), Uint8Array.fromHex("010001")),
  },
  {
    vendor: "tc_api.c tcLoadUntrustedPublicEccKey(P-256): curve ‖ X ‖ Y, no Le",
    hex: "80e601000041" + "17" + "aa".repeat(32) + "bb".repeat(32),
    call: (tc) =>
      tc.loadUntrustedEcKey(
        "P-256",
        Uint8Array.fromHex("aa".repeat(32)),
        Uint8Array.fromHex("bb".repeat(32)),
      ),
  },
  {
    vendor: "tc_api.c tcGeneratePreMasterSecret(3, 3): P1 03 P2 00, case 4, Le 0",
    hex: "804603000002" + "0303" + "0000",
    call: (tc) => tc.generatePremaster(3, 3),
    answer: "6210",
  },
  {
    vendor: "tc_api.c tcGenerateMasterSecret(pms, FALSE, client ‖ server random)",
    hex: "804604000042" + "6210" + R32 + S32 + "0000",
    call: (tc) =>
      tc.generateMasterSecret(0x6210, {
        clientRandom: Uint8Array.fromHex(R32),
        serverRandom: Uint8Array.fromHex(S32),
      }),
    answer: "03036211",
  },
  {
    vendor: "tc_api.c tcGenerateMasterSecret(pms, TRUE, session hash) (mtls.c Extended)",
    hex: "804604010022" + "6210" + H32 + "0000",
    call: (tc) => tc.generateMasterSecret(0x6210, { sessionHash: Uint8Array.fromHex(H32) }),
    answer: "03036211",
  },
  {
    vendor: "tc_api.c tcGenerateSessionKeys(server ‖ client random): P1 05, Lc 64, case 4",
    hex: "804605000040" + S32 + R32 + "0000",
    call: (tc) => tc.generateKeyBlock(Uint8Array.fromHex(S32), Uint8Array.fromHex(R32)),
    answer: "6212621362146215" + "00".repeat(32),
  },
  {
    vendor: "tc_api.c tcWrapKey(pms): PSO 81 86, handle, case 4",
    hex: "802a81860002" + "6210" + "0000",
    call: (tc) => tc.wrap(0x6210),
    answer: "ee".repeat(256),
  },
  {
    vendor: "tc_api.c tcUnwrapKey: PSO 86 81 (output cryptogram… as the vendor names it), Le 2",
    hex: "802a86810003" + "abcdef" + "0002",
    call: (tc) => tc.unwrap(Uint8Array.fromHex("abcdef")),
    answer: "6220",
  },
  {
    vendor: "tc_api.c tcEncrypt: PSO 86 80 (output cryptogram, input plain), IV ‖ data, case 4",
    hex: "802a86800030" + IV + BLOCKS + "0000",
    call: (tc) => tc.encrypt(Uint8Array.fromHex(IV), Uint8Array.fromHex(BLOCKS)),
    answer: "66".repeat(32),
  },
  {
    vendor: "tc_api.c tcDecrypt: PSO 80 86 (output plain, input cryptogram), IV ‖ data, case 4",
    hex: "802a80860030" + IV + BLOCKS + "0000",
    call: (tc) => tc.decrypt(Uint8Array.fromHex(IV), Uint8Array.fromHex(BLOCKS)),
    answer: "66".repeat(32),
  },
  {
    vendor: "tc_api.c tcSign (HMAC, Finished, RSA): PSO 9E 9A, case 4",
    hex: "802a9e9a0020" + H32 + "0000",
    call: (tc) => tc.signOrMac(Uint8Array.fromHex(H32)),
    answer: "77".repeat(12),
  },
  {
    vendor: "tc_api.c tcVerify: PSO 9F 9A, case 4",
    hex: "802a9f9a0100" + MOD + "0000",
    call: (tc) => tc.verify(Uint8Array.fromHex(MOD)),
  },
  {
    vendor: "tc_api.c tcAskRandom(32): Lc 0, Le 32",
    hex: "808400000020",
    call: (tc) => tc.getRandom(32),
    answer: "88".repeat(32),
  },
  {
    vendor: "tc_api.c tcSha(32, data): P2 03, case 4",
    hex: "808520030003" + "616263" + "0000",
    call: (tc) => tc.sha(new TextEncoder().encode("abc")),
    answer: H32,
  },
  {
    vendor: "tc_api.c tcShaInit(32): P1 20, Lc 0, Le 0",
    hex: "808520000000",
    call: (tc) => tc.shaInit(32),
  },
  {
    vendor: "tc_api.c tcShaUpdate: P2 01, no Le",
    hex: "808500010003" + "616263",
    call: (tc) => tc.shaUpdate(new TextEncoder().encode("abc")),
  },
  {
    vendor: "tc_api.c tcShaFinal: P2 02, Lc 0, Le 0 (no Le asked)",
    hex: "808500020000",
    call: (tc) => tc.shaFinal(),
    answer: H32,
  },
  {
    vendor: "tc_api.c tcHandshakeShaInit(32)",
    hex: "808620000000",
    call: (tc) => tc.handshakeShaInit(32),
  },
  {
    vendor: "tc_api.c tcHandshakeShaUpdate",
    hex: "808600010003" + "616263",
    call: (tc) => tc.handshakeShaUpdate(new TextEncoder().encode("abc")),
  },
  {
    vendor: "tc_api.c tcHandshakeShaFinal: Lc 0, Le 0",
    hex: "808600020000",
    call: (tc) => tc.handshakeShaFinal(),
    answer: H32,
  },
  {
    vendor: "tc_api.c tcGetVersion: Le 2",
    hex: "808800000002",
    call: (tc) => tc.version(),
    answer: "0100",
  },
  {
    vendor: "tc_api.c tcReadRsaModulus(0x6100): P1P2 = file, Lc 0, Le 0 (no Le asked)",
    hex: "804061000000",
    call: (tc) => tc.readModulus(0x6100),
    answer: "c1c2c3",
  },
  {
    vendor: "tc_api.c tcSelectEF(0x5300): CLA 80, Lc 2, Le 4, case 4",
    hex: "80a40000000253000004",
    call: (tc) => tc.selectFile(0x5300),
    answer: "53000400",
  },
  {
    vendor: "tc_api.c tcReadCurrentEF: READ BINARY P1P2 offset, Le 240",
    hex: "80b0000000f0",
    call: (tc) => tc.readBinary(0, 240),
    answer: "99".repeat(240),
  },
  {
    vendor: "tc_api.c tcWriteCurrentEF / tcWriteEF: UPDATE BINARY, no Le",
    hex: "80d600100003" + "010203",
    call: (tc) => tc.updateBinary(0x10, Uint8Array.of(1, 2, 3)),
  },
  {
    vendor: "tc_api.c tcCreateEF: 00 ‖ FID ‖ size ‖ 000000 ‖ read ‖ 000000 ‖ update ‖ 00",
    hex: "80e00000000e" + "00" + "5301" + "0400" + "000000" + "01" + "000000" + "08" + "00",
    call: (tc) =>
      tc.createFile(0x5301, 0x0400, {
        read: AccessCondition.always,
        update: AccessCondition.securityOfficer,
      }),
  },
  {
    vendor: "tc_api.c tcDeleteFile(0x5301): no Le",
    hex: "80e4000000025301",
    call: (tc) => tc.deleteFile(0x5301),
  },
  {
    vendor: "tc_api.c tcReadSecretKeyAttrs(0x6212): P1P2 = handle, Le 35",
    hex: "80b162120023",
    call: (tc) => tc.readKeyAttributes(0x6212),
    answer: "00".repeat(35),
  },
  {
    vendor: "tc_api.c tcGenerateRsaKey(0x6101, 2048): size byte 00, case 4, Le 0",
    hex: "804600000003" + "610100" + "0000",
    call: (tc) => tc.generateRsaKey(0x6101, 2048),
  },
  {
    vendor: "tc_api.c tcGenerateEcKey(0x6300, P-256, ecdhOnly 1): P2 = ecdhOnly, case 4",
    hex: "804601010003" + "630017" + "0000",
    call: (tc) => tc.generateEcKey(0x6300, "P-256", true),
  },
  {
    vendor: "tc_api.c tcEncryptGcm(pt, 5, iv, 12, aad, 13): ivLen ‖ IV ‖ aadLen ‖ AAD ‖ pt, case 4",
    hex: "802a8680" + "0020" + "0c" + "66".repeat(12) + "0d" + "77".repeat(13) + "8888888888" +
      "0000",
    call: (tc) =>
      tc.encryptGcm(
        Uint8Array.fromHex("66".repeat(12)),
        Uint8Array.fromHex("77".repeat(13)),
        Uint8Array.fromHex("8888888888"),
      ),
    answer: "99".repeat(5 + 16),
  },
  {
    vendor:
      "tc_api.c tcDecryptGcm(ct ‖ tag, 21, iv, 12, aad, 13): … ‖ AAD ‖ tag ‖ ct, the tag moved first",
    hex: "802a8086" + "0030" + "0c" + "66".repeat(12) + "0d" + "77".repeat(13) + "ab".repeat(16) +
      "8888888888" + "0000",
    call: (tc) =>
      tc.decryptGcm(
        Uint8Array.fromHex("66".repeat(12)),
        Uint8Array.fromHex("77".repeat(13)),
        Uint8Array.fromHex("8888888888" + "ab".repeat(16)),
      ),
    answer: "99".repeat(5),
  },
  {
    vendor:
      "tc_api.c tcGeneratePreMasterSecretAlgo(X ‖ Y, 64): P1 03 (TC_KEYTYPE_PMS), P2 01 (TC_P1_PMS_USE_ALGO), case 4",
    hex: "80460301" + "0040" + "a1".repeat(32) + "b2".repeat(32) + "0000",
    call: (tc) =>
      tc.generateEcdhPremaster(
        Uint8Array.fromHex("a1".repeat(32)),
        Uint8Array.fromHex("b2".repeat(32)),
      ),
    answer: "6210",
  },
  {
    vendor: "tc_api.c tcMseSetTlsKeyLengths(16, 0, 4): tag 86, three lengths, no Le",
    hex: "802241ba0005" + "8603100004",
    call: (tc) =>
      tc.setSecurityEnvironment(SeTemplate.tls, { keyLengths: { key: 16, mac: 0, iv: 4 } }),
  },
  {
    vendor: "tc_api.c tcMseSetAlgo(TC_ALGO_ECDH1, TC_TEMPLATE_TLS) (mtls.c ECDHE premaster)",
    hex: "802241ba0003" + "80010c",
    call: (tc) => tc.setSecurityEnvironment(SeTemplate.tls, { algorithm: Alg.ecdh }),
  },
  {
    vendor: "tc_api.c tcLoadUntrustedPublicEccKey(P-256, X ‖ Y): P1 01, curve ‖ X ‖ Y, no Le",
    hex: "80e60100" + "0041" + "17" + "a1".repeat(32) + "b2".repeat(32),
    call: (tc) =>
      tc.loadUntrustedEcKey(
        "P-256",
        Uint8Array.fromHex("a1".repeat(32)),
        Uint8Array.fromHex("b2".repeat(32)),
      ),
  },
  {
    vendor: "tc_api.c tcSign(hash, 32) after tcMseSetAlgo(TC_ALGO_ECDSA) (mtls.c mtlsECDSASign)",
    hex: "802a9e9a" + "0020" + H32 + "0000",
    call: (tc) => tc.signOrMac(Uint8Array.fromHex(H32)),
    answer: "cd".repeat(64),
  },
  {
    vendor: "tc_api.c tcEraseTLSKeys: Lc 0, Le 0",
    hex: "80e700000000",
    call: (tc) => tc.eraseTlsKeys(),
  },
];

/** VERIFY of the test PIN, in the vendor's form. */
const VERIFY_TEST_PIN = "80200001000c" + new TextEncoder().encode(PIN).toHex() +
  "ff".repeat(12 - PIN.length);

Deno.test("golden: every command our client sends is byte for byte the vendor's", async () => {
  for (const row of TABLE) {
    const sent: string[] = [];
    const tc = new TrustCore({
      transmit: (apdu) => {
        sent.push(apdu.toHex());
        return Promise.resolve(Uint8Array.fromHex((row.answer ?? "") + (row.sw ?? "9000")));
      },
    });
    await row.call(tc);
    assert.deepEqual(sent, [row.hex], row.vendor);
  }
});

Deno.test("golden: the emulator takes every vendor form (no format refusal)", async () => {
  const formatRefusals = new Set([0x6700, 0x6a86, 0x6d00, 0x6e00, 0x6884]);
  for (const row of TABLE) {
    const chip = await provisionedChip();
    const open = (hex: string) => decodeResponse(chip.handle(Uint8Array.fromHex(hex)));
    // A selected applet and a verified PIN, so only the form can be refused.
    assert.equal(open("00a4040c000a" + AID).sw, 0x9000);
    assert.equal(open(VERIFY_TEST_PIN).sw, 0x9000);
    const { sw } = open(row.hex);
    assert.ok(!formatRefusals.has(sw), `${row.vendor}: ${sw.toString(16)}`);
  }
});

Deno.test("golden: the emulator refuses the forms the vendor never sends", async () => {
  const chip = await provisionedChip();
  const sw = (hex: string) => decodeResponse(chip.handle(Uint8Array.fromHex(hex))).sw;
  assert.equal(sw("00a4040c000a" + AID), 0x9000);
  assert.equal(sw(VERIFY_TEST_PIN), 0x9000);
  // Two control reference templates in one MSE.
  assert.equal(sw("802241b60007" + "800107" + "81026212"), 0x6a80);
  // An ISO command chain (CLA 90) for a long MAC.
  assert.equal(sw("902a9e9a0003" + "616263"), 0x6e00);
  // HANDSHAKE SHA one-shot (P2 3).
  assert.equal(sw("808620030003" + "616263" + "0000"), 0x6a86);
  // A PSO P1P2 that is neither encrypt, decrypt, sign, verify, wrap nor unwrap.
  assert.equal(sw("802a86860030" + IV + BLOCKS + "0000"), 0x6a86);
});
