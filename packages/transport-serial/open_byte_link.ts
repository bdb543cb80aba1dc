/**
 * Opens a link from its address string.
 *
 * @module
 */

import type { ByteLink } from "./byte_link.ts";
import { parseLinkUrl } from "./link_address.ts";
import { openSerialPort, type SerialPortOptions } from "./serial_port.ts";
import { connectTcpLink } from "./tcp_link.ts";

/**
 * Opens the link a string names.
 *
 * @example
 * ```ts ignore
 * import { CommandModeTransport, openByteLink } from "@anchortls/transport-serial";
 * const transport = await CommandModeTransport.open(await openByteLink("tcp:127.0.0.1:3333"));
 * await transport.close();
 * ```
 *
 * @param url See {@linkcode parseLinkUrl}.
 * @param options Serial settings, used for device paths only.
 * @returns The open link.
 */
export async function openByteLink(
  url: string,
  options: SerialPortOptions = {},
): Promise<ByteLink> {
  const address = parseLinkUrl(url);
  if (address.kind === "tcp") return await connectTcpLink(address);
  return await openSerialPort(address.path, options);
}
