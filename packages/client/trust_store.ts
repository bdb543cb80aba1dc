/**
 * The system's trust store, for connections made without `caCerts` — as `Deno.connectTls` and
 * Node use default roots. The bundle is found the way OpenSSL and Go look for it:
 * `SSL_CERT_FILE` (one PEM bundle) and `SSL_CERT_DIR` (colon-separated folders of PEM files)
 * when set, else the first distribution bundle that exists, else the files of `/etc/ssl/certs`.
 * It is read once per process and kept.
 *
 * @module
 */

import { type Certificate, parseCertificate, parsePem } from "@anchortls/x509";

/** Where distributions keep their PEM bundle, in the order they are tried. */
export const SYSTEM_CA_FILES: readonly string[] = [
  "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Gentoo, Arch
  "/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL 6
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // RHEL 7+, CentOS
  "/etc/ssl/ca-bundle.pem", // openSUSE
  "/etc/ssl/cert.pem", // Alpine, macOS, OpenBSD
];

/** Folders of PEM files tried when no bundle exists. */
export const SYSTEM_CA_DIRS: readonly string[] = ["/etc/ssl/certs"];

/**
 * No trust store was found (or none of it parsed): connect with `caCerts`, or point
 * `SSL_CERT_FILE` at a PEM bundle.
 *
 * @example
 * ```ts
 * import { TrustStoreError } from "@anchortls/client";
 * new TrustStoreError(["/etc/ssl/cert.pem"]).paths; // ["/etc/ssl/cert.pem"]
 * ```
 */
export class TrustStoreError extends Error {
  /** Every file and folder tried. */
  readonly paths: readonly string[];

  /**
   * Creates the error.
   *
   * @param paths Every file and folder tried.
   * @param detail Why, when it is not "nothing there".
   */
  constructor(paths: readonly string[], detail = "none of them holds a certificate") {
    super(
      `no system trust store: tried ${paths.join(", ")}; ${detail}. ` +
        "Pass caCerts, or set SSL_CERT_FILE to a PEM bundle.",
    );
    this.name = "TrustStoreError";
    this.paths = paths;
  }
}

/** Where to look, for tests and unusual systems. */
export interface TrustStoreLocations {
  /** `SSL_CERT_FILE`. */
  readonly certFile?: string | undefined;
  /** `SSL_CERT_DIR`, colon-separated. */
  readonly certDir?: string | undefined;
  /** Bundles to try when `certFile` is not set. @default {SYSTEM_CA_FILES} */
  readonly files?: readonly string[];
  /** Folders to try when neither variable is set and no bundle exists. @default {SYSTEM_CA_DIRS} */
  readonly dirs?: readonly string[];
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    // Without --allow-env the variables are as good as unset.
    return undefined;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.IsADirectory) {
      return undefined;
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new TrustStoreError([path], `reading it is not allowed (--allow-read=${path})`);
    }
    return undefined;
  }
}

async function folderFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory && /\.(pem|crt)$/.test(entry.name)) names.push(`${dir}/${entry.name}`);
    }
  } catch {
    // A missing folder holds nothing.
  }
  return names.sort();
}

/** Certificates of PEM texts; blocks our strict parser refuses are left out, not fatal. */
function certificates(texts: readonly string[]): Certificate[] {
  const out: Certificate[] = [];
  for (const text of texts) {
    for (const der of parsePem(text)) {
      try {
        out.push(parseCertificate(der));
      } catch {
        // One odd root must not take the whole store down; it is simply not trusted.
      }
    }
  }
  return out;
}

/**
 * Finds and reads a trust store.
 *
 * @param locations Where to look. @default {the environment's and the system's}
 * @returns The trust anchors, never empty.
 * @throws {TrustStoreError} Naming every path tried, when none holds a certificate.
 */
export async function loadTrustStore(
  locations: TrustStoreLocations = { certFile: env("SSL_CERT_FILE"), certDir: env("SSL_CERT_DIR") },
): Promise<Certificate[]> {
  const tried: string[] = [];
  const texts: string[] = [];
  const bundles = locations.certFile !== undefined
    ? [locations.certFile]
    : locations.certDir !== undefined
    ? []
    : locations.files ?? SYSTEM_CA_FILES;
  for (const path of bundles) {
    tried.push(path);
    const text = await readText(path);
    if (text !== undefined) {
      texts.push(text);
      break;
    }
  }
  const dirs = locations.certDir !== undefined
    ? locations.certDir.split(":").filter((d) => d !== "")
    : texts.length === 0 && locations.certFile === undefined
    ? locations.dirs ?? SYSTEM_CA_DIRS
    : [];
  for (const dir of dirs) {
    tried.push(dir);
    for (const file of await folderFiles(dir)) {
      const text = await readText(file);
      if (text !== undefined) texts.push(text);
    }
  }
  const anchors = certificates(texts);
  if (anchors.length === 0) throw new TrustStoreError(tried);
  return anchors;
}

let systemStore: Promise<Certificate[]> | undefined;

/**
 * The process's trust store: {@linkcode loadTrustStore} from the environment and the system,
 * read on first use and kept. A failed load is not kept, so fixing the system and retrying
 * works.
 *
 * @returns The trust anchors.
 * @throws {TrustStoreError} When none is found.
 */
export function systemTrustStore(): Promise<Certificate[]> {
  systemStore ??= loadTrustStore().catch((error) => {
    systemStore = undefined;
    throw error;
  });
  return systemStore;
}
