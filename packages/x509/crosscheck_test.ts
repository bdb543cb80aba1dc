import assert from "node:assert/strict";
import type { Certificate } from "./certificate.ts";
import type { GeneralName } from "./general_name.ts";
import { fixture, fixtureNames, testdata } from "./_test_util.ts";

const extensionNames: Record<string, string> = {
  "X509v3 Basic Constraints": "2.5.29.19",
  "X509v3 Key Usage": "2.5.29.15",
  "X509v3 Extended Key Usage": "2.5.29.37",
  "X509v3 Subject Alternative Name": "2.5.29.17",
  "X509v3 Subject Key Identifier": "2.5.29.14",
  "X509v3 Authority Key Identifier": "2.5.29.35",
  "X509v3 Name Constraints": "2.5.29.30",
};

const keyUsageNames: Record<string, string> = {
  digitalSignature: "Digital Signature",
  nonRepudiation: "Non Repudiation",
  keyEncipherment: "Key Encipherment",
  dataEncipherment: "Data Encipherment",
  keyAgreement: "Key Agreement",
  keyCertSign: "Certificate Sign",
  cRLSign: "CRL Sign",
  encipherOnly: "Encipher Only",
  decipherOnly: "Decipher Only",
};

const ekuNames: Record<string, string> = {
  "1.3.6.1.5.5.7.3.1": "TLS Web Server Authentication",
  "1.3.6.1.5.5.7.3.2": "TLS Web Client Authentication",
};

const sigAlgNames: Record<string, string> = {
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
  "1.2.840.113549.1.1.10": "rsassaPss",
  "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
  "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
};

async function opensslText(file: string): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: [
      "x509",
      "-in",
      new URL(file, testdata).pathname,
      "-text",
      "-noout",
      "-nameopt",
      "RFC2253",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

function hexColons(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

function ipText(ip: Uint8Array): string {
  if (ip.length === 4) return ip.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  return groups.join(":").toUpperCase();
}

function generalName(n: GeneralName, constraint = false): string {
  switch (n.type) {
    case "dns":
      return `DNS:${n.value}`;
    case "email":
      return `email:${n.value}`;
    case "uri":
      return `URI:${n.value}`;
    case "ip":
      return constraint
        ? `IP:${ipText(n.value.subarray(0, n.value.length / 2))}/${
          ipText(n.value.subarray(n.value.length / 2))
        }`
        : `IP Address:${ipText(n.value)}`;
    case "directory":
      return `DirName:${n.value}`;
    default:
      return `other:${n.tag}`;
  }
}

/** Splits the extensions block into header → value lines. */
function opensslExtensions(text: string): { name: string; critical: boolean; lines: string[] }[] {
  const start = text.indexOf("        X509v3 extensions:\n");
  if (start < 0) return [];
  const end = text.indexOf("\n    Signature Algorithm:", start);
  const out: { name: string; critical: boolean; lines: string[] }[] = [];
  for (const line of text.slice(start, end).split("\n").slice(1)) {
    const header = /^ {12}(\S.*?):\s*(critical)?\s*$/.exec(line);
    if (header) out.push({ name: header[1]!, critical: header[2] === "critical", lines: [] });
    else if (line.trim()) out.at(-1)!.lines.push(line.trim());
  }
  return out;
}

function field(text: string, label: string): string {
  const m = new RegExp(`^\\s*${label}\\s*:\\s*(.*)$`, "m").exec(text);
  assert.ok(m, `openssl output lacks ${label}`);
  return m[1]!.trim();
}

function checkAgainstOpenssl(cert: Certificate, text: string): void {
  const serialLine = /Serial Number:[ \t]*(.*)\n[ \t]*([0-9a-f:]*)/.exec(text)!;
  const serial = serialLine[1]!.trim()
    ? BigInt(serialLine[1]!.trim().split(" ")[0]!).toString(16)
    : serialLine[2]!.replaceAll(":", "");
  assert.equal(BigInt("0x" + cert.serialNumber), BigInt("0x" + serial), "serial");
  assert.equal(`${cert.version} (0x${cert.version - 1})`, field(text, "Version"), "version");
  assert.equal(sigAlgNames[cert.signatureAlgorithm.oid], field(text, "Signature Algorithm"));
  assert.equal(cert.issuer.toString(), field(text, "Issuer"), "issuer");
  assert.equal(cert.subject.toString(), field(text, "Subject"), "subject");
  assert.equal(cert.notBefore.getTime(), new Date(field(text, "Not Before")).getTime());
  assert.equal(cert.notAfter.getTime(), new Date(field(text, "Not After")).getTime());

  const bits = Number(/Public-Key: \((\d+) bit\)/.exec(text)?.[1]);
  const key = cert.publicKey;
  if (key.kind === "rsa") {
    assert.equal(key.bits, bits, "RSA key size");
    assert.equal(`${key.exponent} (0x${key.exponent.toString(16)})`, field(text, "Exponent"));
  } else if (key.kind === "ec") {
    assert.equal(key.curve, field(text, "NIST CURVE"));
    assert.equal(key.curve === "P-256" ? 256 : 384, bits);
  } else {
    assert.equal(field(text, "Public Key Algorithm"), "ED25519");
  }

  const exts = opensslExtensions(text);
  assert.deepEqual(
    cert.extensions.map((e) => [e.oid, e.critical]),
    exts.map((e) => [extensionNames[e.name] ?? e.name, e.critical]),
    "extension list",
  );
  for (const e of exts) {
    const value = e.lines.join("\n");
    switch (extensionNames[e.name]) {
      case "2.5.29.19": {
        const bc = cert.basicConstraints!;
        const path = bc.pathLenConstraint === undefined ? "" : `, pathlen:${bc.pathLenConstraint}`;
        assert.equal(`CA:${bc.ca ? "TRUE" : "FALSE"}${path}`, value);
        break;
      }
      case "2.5.29.15":
        assert.equal(
          Object.entries(keyUsageNames).filter(([k]) => cert.keyUsage![k as "cRLSign"])
            .map(([, v]) => v).join(", "),
          value,
        );
        break;
      case "2.5.29.37":
        assert.equal(cert.extKeyUsage!.map((o) => ekuNames[o] ?? o).join(", "), value);
        break;
      case "2.5.29.17":
        assert.equal(cert.subjectAltNames!.map((n) => generalName(n)).join(", "), value);
        break;
      case "2.5.29.14":
        assert.equal(hexColons(cert.subjectKeyIdentifier!), value);
        break;
      case "2.5.29.35":
        assert.equal(
          hexColons(cert.authorityKeyIdentifier!.keyIdentifier!),
          value.replace(/^keyid:/, ""),
        );
        break;
      case "2.5.29.30": {
        const nc = cert.nameConstraints!;
        const lines = [
          ...(nc.permitted.length ? ["Permitted:"] : []),
          ...nc.permitted.map((s) => generalName(s.base, true)),
          ...(nc.excluded.length ? ["Excluded:"] : []),
          ...nc.excluded.map((s) => generalName(s.base, true)),
        ];
        assert.equal(lines.join("\n"), value);
        break;
      }
    }
  }
}

for (const name of fixtureNames()) {
  Deno.test(`crosscheck: ${name} matches openssl x509 -text`, async () => {
    checkAgainstOpenssl(fixture(name), await opensslText(name));
  });
}
