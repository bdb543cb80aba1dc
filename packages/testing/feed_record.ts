/**
 * Record-level feeding of a message-level `ClientHandshake`, for tests that hand it whole TLS
 * handshake records (a first flight in one piece, bytes one at a time): the messages are cut
 * out with a deframer kept per handshake, as `TlsClientCore` does. The record-layer rules
 * (no ChangeCipherSpec inside a message, nothing after the server Finished) are the core's and
 * are not repeated here; test them through `TlsClientCore`.
 *
 * @module
 */

import {
  type ClientHandshake,
  type HandshakeAction,
  TlsHandshakeDeframer,
} from "@anchortls/handshake";
import { ContentType } from "@anchortls/record";

const deframers = new WeakMap<ClientHandshake, TlsHandshakeDeframer>();

/** One record's content for {@linkcode feedRecord}. */
export interface HandshakeRecord {
  /** `handshake` or `change_cipher_spec`. */
  readonly type: number;
  /** The record's content. */
  readonly data: Uint8Array;
  /** The current time in ms since the epoch. */
  readonly now: number;
}

/**
 * Feeds one TLS handshake or ChangeCipherSpec record's content to `handshake`.
 *
 * @param handshake The state machine.
 * @param record The record.
 * @returns Every action it returned, in order.
 */
export async function feedRecord(
  handshake: ClientHandshake,
  record: HandshakeRecord,
): Promise<HandshakeAction[]> {
  if (record.type === ContentType.change_cipher_spec) {
    return await handshake.handleChangeCipherSpec(record.data, record.now);
  }
  let deframer = deframers.get(handshake);
  if (!deframer) deframers.set(handshake, deframer = new TlsHandshakeDeframer());
  deframer.push(record.data);
  const actions: HandshakeAction[] = [];
  for (let m = deframer.next(); m; m = deframer.next()) {
    actions.push(...await handshake.handleMessage(m, record.now));
  }
  return actions;
}
