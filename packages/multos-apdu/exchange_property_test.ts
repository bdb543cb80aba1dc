/**
 * Property tests of the sans-IO exchange core: against a model card that chains, answers
 * `6CXX` and serves its answer in `61XX` pieces, the exchange always assembles the exact answer;
 * against arbitrary responses it ends, or throws `ApduError`, within a bounded number of steps.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ApduError } from "./apdu_error.ts";
import { type ApduForm, type CommandApdu, decodeCommand } from "./command.ts";
import { ApduExchange, followUp } from "./exchange.ts";
import { encodeResponse } from "./response.ts";

const runs = { seed: 0x6100, numRuns: 300 };

const byte = fc.integer({ min: 0, max: 0xff });

/** A card that gathers a command chain and serves `answer`, as ISO 7816-4 §5.3 allows. */
class ModelCard {
  readonly received: number[] = [];
  readonly #answer: Uint8Array;
  readonly #pieces: number[];
  readonly #form: ApduForm;
  #wrongLe: boolean;
  #served = 0;

  constructor(answer: Uint8Array, pieces: number[], wrongLe: boolean, form: ApduForm) {
    this.#answer = answer;
    this.#pieces = pieces;
    this.#wrongLe = wrongLe;
    this.#form = form;
  }

  respond(apdu: Uint8Array, cla: number): Uint8Array {
    const c = decodeCommand(apdu, this.#form);
    if (c.ins === 0xc0) {
      assert.equal(c.cla, cla & 0x03, "GET RESPONSE keeps only the channel bits");
      return this.#serve(c.le ?? 256);
    }
    if (c.cla & 0x10) {
      this.received.push(...(c.data ?? []));
      return encodeResponse(new Uint8Array(0), 0x9000);
    }
    if (this.#wrongLe && this.#answer.length <= 256 && c.le !== this.#answer.length) {
      this.#wrongLe = false;
      return encodeResponse(new Uint8Array(0), 0x6c00 | (this.#answer.length & 0xff));
    }
    this.received.push(...(c.data ?? []));
    return this.#serve(Infinity);
  }

  #serve(limit: number): Uint8Array {
    const n = Math.min(limit, this.#pieces.length ? this.#pieces.shift()! : limit);
    const piece = this.#answer.subarray(this.#served, this.#served + n);
    this.#served += piece.length;
    const left = this.#answer.length - this.#served;
    return encodeResponse(piece, left > 0 ? 0x6100 | (Math.min(left, 256) & 0xff) : 0x9000);
  }
}

Deno.test("exchange property: chains, 6CXX and 61XX always assemble the card's exact answer", () => {
  fc.assert(
    fc.property(
      fc.constantFrom<ApduForm>("short", "multos"),
      byte.filter((cla) => (cla & 0x10) === 0),
      fc.uint8Array({ maxLength: 700, size: "max" }),
      fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
      fc.uint8Array({ maxLength: 2000, size: "max" }),
      fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 20 }),
      fc.boolean(),
      (form, cla, data, chunkSize, answer, pieces, wrongLe) => {
        fc.pre(form === "multos" || data.length <= 255 || chunkSize !== undefined);
        const command: CommandApdu = {
          cla,
          ins: 0x2a,
          p1: 0x80,
          p2: 0x86,
          ...(data.length ? { data } : {}),
          le: form === "short" ? 256 : data.length ? 65536 : 65535,
        };
        const card = new ModelCard(answer, pieces, wrongLe, form);
        const exchange = new ApduExchange(command, {
          form,
          ...(chunkSize === undefined ? {} : { chunkSize }),
        });
        let step = { kind: "send", apdu: exchange.start() } as ReturnType<ApduExchange["receive"]>;
        let apdus = 0;
        while (step.kind === "send") {
          // Chain parts, one resend after 6CXX, at most 64 GET RESPONSE rounds.
          assert.ok(++apdus <= exchange.chainLength + 1 + 64, "exchange does not end");
          step = exchange.receive(card.respond(step.apdu, cla));
        }
        assert.equal(step.response.sw, 0x9000);
        assert.deepEqual(step.response.data, answer);
        assert.deepEqual(Uint8Array.from(card.received), data);
      },
    ),
    runs,
  );
});

Deno.test("exchange property: arbitrary answers end the exchange or throw ApduError, in bounds", () => {
  const response = fc.oneof(
    fc.uint8Array({ maxLength: 6 }),
    fc.tuple(
      fc.uint8Array({ maxLength: 8 }),
      fc.constantFrom(0x90, 0x61, 0x6c, 0x6a, 0x60, 0x12),
      byte,
    )
      .map(([data, sw1, sw2]) => Uint8Array.of(...data, sw1, sw2)),
  );
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
      fc.integer({ min: 0, max: 8 }),
      fc.array(response, { minLength: 1, maxLength: 120, size: "max" }),
      (data, chunkSize, maxRounds, responses) => {
        const exchange = new ApduExchange(
          { cla: 0x80, ins: 0xca, p1: 0, p2: 0, ...(data.length ? { data } : {}), le: 8 },
          { form: "multos", maxRounds, ...(chunkSize === undefined ? {} : { chunkSize }) },
        );
        exchange.start();
        // Chain parts, GET RESPONSE rounds, one resend after 6CXX, and the final answer.
        const bound = exchange.chainLength + maxRounds + 2;
        for (const [i, r] of responses.entries()) {
          assert.ok(i < bound, `still asking after ${i} responses`);
          let step;
          try {
            step = exchange.receive(r);
          } catch (error) {
            assert.ok(error instanceof ApduError, `not an ApduError: ${error}`);
            return;
          }
          if (step.kind === "done") {
            assert.throws(() => exchange.receive(r), ApduError);
            return;
          }
        }
      },
    ),
    runs,
  );
});

Deno.test("exchange property: followUp is GET RESPONSE for 61XX, a resend for 6CXX, else none", () => {
  fc.assert(
    fc.property(
      byte,
      byte,
      fc.option(fc.integer({ min: 1, max: 65536 }), { nil: undefined }),
      fc.integer({ min: 0, max: 0xffff }),
      (cla, ins, le, sw) => {
        const command: CommandApdu = {
          cla,
          ins,
          p1: 1,
          p2: 2,
          ...(le === undefined ? {} : { le }),
        };
        const next = followUp(command, { data: new Uint8Array(0), sw });
        const count = (sw & 0xff) || 256;
        if (sw >> 8 === 0x61) {
          assert.deepEqual(next, { cla: cla & 0x03, ins: 0xc0, p1: 0, p2: 0, le: count });
        } else if (sw >> 8 === 0x6c) {
          assert.deepEqual(next, { ...command, le: count });
        } else {
          assert.equal(next, undefined);
        }
      },
    ),
    { ...runs, numRuns: 2000 },
  );
});
