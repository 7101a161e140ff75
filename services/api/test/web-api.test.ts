import { describe, expect, it } from "vitest";
import { describeHttpError, fieldProblems, HttpError } from "../web/src/http-error.js";

describe("dashboard: the API's refusals as a person reads them", () => {
  it("names the status, the API's message and every field it pointed at", () => {
    const tooPrecise = new HttpError(400, "amount is not a valid money amount", "bad_request", [
      { path: ["amount"], message: "too_precise" },
    ]);
    expect(describeHttpError(tooPrecise)).toBe(
      "400 rejected: amount is not a valid money amount (amount: too_precise)",
    );
    const nested = new HttpError(400, "invalid body", "bad_request", [
      { path: ["body", "mode"], message: "expected observe | hard_cap" },
      { path: [], message: "unrecognized key" },
    ]);
    expect(describeHttpError(nested)).toBe(
      "400 rejected: invalid body (body.mode: expected observe | hard_cap; unrecognized key)",
    );
  });

  it("says what to do about a refused token", () => {
    const text = describeHttpError(new HttpError(401, "the bearer token is not valid", "unauthorized"));
    expect(text).toMatch(/^401 refused: the bearer token is not valid\. Check the write token/);
    expect(describeHttpError(new HttpError(403, "forbidden"))).toBe("403 forbidden: forbidden");
    expect(describeHttpError(new HttpError(503, "kafka is unavailable"))).toBe("503: kafka is unavailable");
  });

  it("keeps only the field problems it can read from an error body's details", () => {
    expect(fieldProblems(undefined)).toEqual([]);
    expect(fieldProblems({ path: ["amount"], message: "x" })).toEqual([]);
    expect(
      fieldProblems([
        { path: ["amount", 0, { evil: true }], message: "too_precise" },
        { path: "amount", message: "no path array" },
        { message: 42 },
        null,
        "text",
      ]),
    ).toEqual([
      { path: ["amount", 0], message: "too_precise" },
      { path: [], message: "no path array" },
    ]);
  });
});
