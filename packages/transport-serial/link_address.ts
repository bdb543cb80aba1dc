/**
 * Link addresses as strings, for command lines and configuration: `tcp:HOST:PORT` for a TCP
 * bridge, anything else a serial device path (optionally written `serial:PATH`).
 *
 * @module
 */

/** A parsed link address. */
export type LinkAddress =
  | { readonly kind: "tcp"; readonly hostname: string; readonly port: number }
  | { readonly kind: "serial"; readonly path: string };

/**
 * Parses a link address. IPv6 hosts go in brackets: `tcp:[::1]:3333`.
 *
 * @example
 * ```ts
 * import { parseLinkUrl } from "@anchortls/transport-serial";
 * parseLinkUrl("tcp:127.0.0.1:3333"); // { kind: "tcp", hostname: "127.0.0.1", port: 3333 }
 * parseLinkUrl("/dev/ttyUSB0"); // { kind: "serial", path: "/dev/ttyUSB0" }
 * ```
 *
 * @param url `tcp:HOST:PORT`, `serial:PATH` or a device path.
 * @returns The address.
 * @throws {RangeError} On an empty path or a malformed TCP address.
 */
export function parseLinkUrl(url: string): LinkAddress {
  if (url.startsWith("tcp:")) {
    const rest = url.slice(4);
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(rest);
    const port = match ? Number(match[3]) : NaN;
    const hostname = match?.[1] ?? match?.[2];
    if (!hostname || !(port >= 1 && port <= 65535)) {
      throw new RangeError(`bad TCP link address "${url}": expected tcp:HOST:PORT`);
    }
    return { kind: "tcp", hostname, port };
  }
  const path = url.startsWith("serial:") ? url.slice(7) : url;
  if (path.length === 0) throw new RangeError("empty serial device path");
  return { kind: "serial", path };
}
