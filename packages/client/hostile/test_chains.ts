/**
 * Certificate chains for hostile-server tests, made with `openssl req` from the x509 test PKI's
 * keys into a temporary directory: a real chain of 50 certificates, and a mesh of same-named
 * issuers.
 *
 * @module
 */

import { parsePem } from "@anchortls/x509";
import { fixedPkiFile } from "@anchortls/testing";

/**
 * A real chain of 50 certificates: the test root, 48 intermediates each issued by the one
 * above, and a leaf for localhost. Returned leaf first, root last.
 */
export async function longChain(): Promise<Uint8Array[]> {
  const dir = await Deno.makeTempDir({ prefix: "anchortls-chain-" });
  const openssl = async (args: string[]) => {
    const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
      .output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  try {
    let issuer = fixedPkiFile("root.pem");
    let issuerKey = fixedPkiFile("root.key");
    const ders: Uint8Array[] = [];
    for (let i = 1; i <= 49; i++) {
      const leaf = i === 49;
      const file = `${dir}/${i}.pem`;
      await openssl([
        "req",
        "-new",
        "-x509",
        "-days",
        "30",
        "-sha256",
        "-key",
        fixedPkiFile(leaf ? "leaf.key" : "intermediate.key"),
        "-CA",
        issuer,
        "-CAkey",
        issuerKey,
        "-subj",
        leaf ? "/CN=localhost" : `/CN=hostile intermediate ${i}`,
        ...(leaf
          ? [
            "-addext",
            "subjectAltName=DNS:localhost",
            "-addext",
            "basicConstraints=CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "-addext",
            "extendedKeyUsage=serverAuth",
          ]
          : [
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
          ]),
        "-out",
        file,
      ]);
      ders.unshift(parsePem(await Deno.readTextFile(file))[0]!);
      issuer = file;
      issuerKey = fixedPkiFile("intermediate.key");
    }
    ders.push(parsePem(await Deno.readTextFile(fixedPkiFile("root.pem")))[0]!);
    return ders;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * 48 CA certificates in 8 layers of 6, every one of a layer named alike and issued under the
 * next layer's name (all with the same key, so key identifiers match too), under a top name
 * nobody holds, plus a leaf for localhost: 6^8 candidate paths, none reaching a trust anchor.
 */
export async function issuerMesh(): Promise<Uint8Array[]> {
  const dir = await Deno.makeTempDir({ prefix: "anchortls-mesh-" });
  const caKey = fixedPkiFile("intermediate.key");
  const ca = [
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ];
  const make = async (file: string, subject: string, issuer?: string, extra: string[] = ca) => {
    const signer = issuer ? ["-CA", issuer, "-CAkey", caKey] : [];
    const key = subject === "/CN=localhost" ? fixedPkiFile("leaf.key") : caKey;
    const args = [
      "req",
      "-new",
      "-x509",
      "-days",
      "30",
      "-key",
      key,
      "-subj",
      subject,
      ...signer,
      ...extra,
      "-out",
      file,
    ];
    const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
      .output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return parsePem(await Deno.readTextFile(file))[0]!;
  };
  try {
    await make(`${dir}/top.pem`, "/CN=hostile mesh top");
    const ders: Uint8Array[] = [];
    let issuer = `${dir}/top.pem`;
    for (let layer = 8; layer >= 1; layer--) {
      for (let i = 0; i < 6; i++) {
        ders.push(await make(`${dir}/${layer}-${i}.pem`, `/CN=hostile mesh ${layer}`, issuer));
      }
      issuer = `${dir}/${layer}-0.pem`;
    }
    const leaf = await make(`${dir}/leaf.pem`, "/CN=localhost", issuer, [
      "-addext",
      "subjectAltName=DNS:localhost",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ]);
    return [leaf, ...ders.reverse()];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
