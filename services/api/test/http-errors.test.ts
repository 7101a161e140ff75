import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.js";
import { errorBody, toApiError } from "../src/http-errors.js";

describe("toApiError", () => {
  it("keeps ApiErrors as they are", () => {
    const error = new ApiError("rate_limited", "slow down", { retryAfterSeconds: 3 });
    expect(toApiError(error)).toBe(error);
    expect(error.statusCode).toBe(429);
  });

  it("maps fastify's request errors to fixed messages that echo no input", () => {
    const tooLarge = Object.assign(new Error("Request body is too large"), {
      statusCode: 413,
      code: "FST_ERR_CTP_BODY_TOO_LARGE",
    });
    expect(toApiError(tooLarge)).toMatchObject({ code: "payload_too_large", statusCode: 413 });
    const syntax = Object.assign(new SyntaxError('Unexpected token } in JSON: {"secret":'), {
      statusCode: 400,
    });
    expect(toApiError(syntax).message).toBe("request body is not valid JSON");
  });

  it("turns anything else into a generic 500 without the original message", () => {
    const mapped = toApiError(new Error("connect ECONNREFUSED 10.0.0.5:5432 password=hunter2"));
    expect(mapped).toMatchObject({ code: "internal_error", statusCode: 500, message: "internal error" });
    expect(JSON.stringify(errorBody(mapped, "req-1"))).not.toMatch(/hunter2|ECONNREFUSED|at /);
  });

  it("puts details and the request id in the body", () => {
    const body = errorBody(
      new ApiError("bad_request", "invalid body", { details: [{ path: ["a"] }] }),
      "req-9",
    );
    expect(body).toEqual({
      error: {
        code: "bad_request",
        message: "invalid body",
        request_id: "req-9",
        details: [{ path: ["a"] }],
      },
    });
  });
});
