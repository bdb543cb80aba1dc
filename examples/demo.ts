// deno-lint-ignore-file no-console
/**
 * Record-layer round trip: for every cipher suite and both MAC modes, seal a few messages into
 * TLS records (one of them larger than a record, so it is fragmented), cut the byte stream into
 * odd-sized chunks as TCP might deliver it, deframe and open the records again, and check that
 * every byte came back. Then the same over DTLS datagrams, with a replayed datagram dropped.
 *
 * Run: `deno run -A examples/demo.ts`
 *
 * @module
 */

import {
  CbcHmacProtector,
  CipherSuites,
  DatagramRecordReader,
  DatagramRecordWriter,
  RecordReader,
  RecordWriter,
  type RecordWriterInput,
} from "@anchortls/record";

const encoder = new TextEncoder();
const messages = [
  encoder.encode("GET /status HTTP/1.1\r\nHost: sensor-17.local\r\n\r\n"),
  crypto.getRandomValues(new Uint8Array(1400)),
  new Uint8Array(20000).fill(0x2a),
];
const totalBytes = messages.reduce((n, m) => n + m.length, 0);

async function collect<T>(
  writer: TransformStream<RecordWriterInput, T>,
  inputs: RecordWriterInput[],
): Promise<T[]> {
  const [out] = await Promise.all([
    Array.fromAsync(writer.readable),
    ReadableStream.from(inputs).pipeTo(writer.writable),
  ]);
  return out;
}

/** Cuts bytes into chunks of 1, 3, 5, … 97, 1, 3, … bytes. */
function oddChunks(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0, size = 1; at < bytes.length; at += size, size = size >= 97 ? 1 : size + 2) {
    chunks.push(bytes.subarray(at, at + size));
  }
  return chunks;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

let failures = 0;
for (const suite of Object.values(CipherSuites)) {
  for (const encryptThenMac of [false, true]) {
    const keys = {
      suite,
      encryptThenMac,
      encKey: crypto.getRandomValues(new Uint8Array(suite.encKeyLength)),
      macKey: crypto.getRandomValues(new Uint8Array(suite.macKeyLength)),
    };
    const records = await collect(
      new RecordWriter({ protector: new CbcHmacProtector(keys) }),
      messages,
    );
    const wire = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
    records.reduce((at, r) => (wire.set(r, at), at + r.length), 0);
    const chunks = oddChunks(wire);
    const opened = await Array.fromAsync(
      ReadableStream.from(chunks).pipeThrough(
        new RecordReader({ protector: new CbcHmacProtector(keys) }),
      ),
    );
    const received = new Uint8Array(opened.reduce((n, r) => n + r.fragment.length, 0));
    opened.reduce((at, r) => (received.set(r.fragment, at), at + r.fragment.length), 0);
    const ok = sameBytes(received, new Uint8Array(messages.flatMap((m) => [...m])));
    if (!ok) failures++;

    const datagrams = await collect(
      new DatagramRecordWriter({ protector: new CbcHmacProtector(keys) }),
      messages,
    );
    const dtlsReader = new DatagramRecordReader();
    dtlsReader.setEpoch(0, new CbcHmacProtector(keys));
    const dtlsRecords = await Array.fromAsync(
      ReadableStream.from([...datagrams, datagrams[0]!]).pipeThrough(dtlsReader),
    );
    const dtlsOk = dtlsRecords.length === datagrams.length && dtlsReader.dropped === 1;
    if (!dtlsOk) failures++;

    const mode = encryptThenMac ? "encrypt-then-MAC" : "MAC-then-encrypt";
    console.log(
      `${suite.name.padEnd(32)} ${mode.padEnd(16)} TLS: ${records.length} records, ` +
        `${wire.length} bytes in ${chunks.length} chunks → ${totalBytes} bytes ${
          ok ? "ok" : "MISMATCH"
        } | DTLS: ${dtlsRecords.length} records, replay dropped ${dtlsOk ? "ok" : "FAILED"}`,
    );
  }
}

if (failures > 0) {
  console.log(`${failures} round trips failed`);
  Deno.exit(1);
}
