/**
 * The link to a MULTOS Trust Anchor: byte links (serial tty, TCP bridge, in-memory pair),
 * the MULTOS command-mode TLV framing, a host transport that sends APDUs over it, the chip
 * side for emulators, and the USB-ISS I2C tunnel.
 *
 * It moves bytes only: it knows nothing of TLS and depends on no other anchortls package.
 *
 * @example An APDU round trip with an emulated chip
 * ```ts
 * import {
 *   CommandModeDevice, CommandModeTransport, createMemoryLinkPair,
 * } from "@anchortls/transport-serial";
 *
 * const [hostEnd, chipEnd] = createMemoryLinkPair();
 * const chip = new CommandModeDevice(chipEnd, (apdu) =>
 *   apdu[1] === 0x88 ? Uint8Array.fromHex("01029000") : Uint8Array.fromHex("6d00"));
 * const transport = await CommandModeTransport.open(hostEnd);
 * const version = await transport.transmit(Uint8Array.fromHex("808800000002"));
 * version.toHex(); // "01029000"
 * await transport.close();
 * await chip.close();
 * ```
 *
 * @module
 */

export * from "./byte_link.ts";
export * from "./command_exchange.ts";
export * from "./command_mode_device.ts";
export * from "./command_mode_transport.ts";
export * from "./command_timeouts.ts";
export * from "./link_error.ts";
export * from "./memory_link.ts";
export * from "./messages.ts";
export * from "./tlv.ts";
export * from "./link_address.ts";
export * from "./open_byte_link.ts";
export * from "./serial_port.ts";
export * from "./tcp_link.ts";
export * from "./usb_iss.ts";
