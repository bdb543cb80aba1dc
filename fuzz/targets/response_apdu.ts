/**
 * Response APDU target: `decodeResponse`. Oracle: an accepted input re-encodes to exactly the
 * same bytes and its data is a copy; refusals are `ApduError`s.
 *
 * @module
 */

import { ApduError, decodeResponse, encodeResponse } from "@anchortls/multos-apdu";
import { check, type FuzzTarget, sameBytes } from "../target.ts";

const target: FuzzTarget = {
  name: "response_apdu",
  corpus: "response_apdu",
  run(input) {
    const response = decodeResponse(input, "fuzz");
    check(sameBytes(encodeResponse(response.data, response.sw), input), "does not re-encode");
    check(response.data.buffer !== input.buffer || input.length <= 2, "data is not a copy");
    return `sw1 ${(response.sw >> 8).toString(16)}, ${response.data.length ? "data" : "empty"}`;
  },
  expected: (error) => error instanceof ApduError,
};

export default target;
