import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AccessPolicy, authorize, bearerToken, parseTokenList, requireToken } from "../src/auth.js";
import { ApiError } from "../src/errors.js";

describe("parseTokenList", () => {
  it("names `name:secret` entries and fingerprints bare ones, never keeping the secret", () => {
    const tokens = parseTokenList(" alice:s3cret-one , s3cret-two ,, ");
    expect(tokens.isEmpty).toBe(false);
    expect(tokens.identify("s3cret-one")).toBe("alice");
    expect(tokens.identify("s3cret-two")).toMatch(/^token-[0-9a-f]{8}$/);
    expect(tokens.identify("alice:s3cret-one")).toBeNull();
    expect(tokens.identify("")).toBeNull();
    expect(JSON.stringify(tokens)).not.toContain("s3cret");
  });

  it("is empty for an unset or blank list", () => {
    expect(parseTokenList(undefined).isEmpty).toBe(true);
    expect(parseTokenList(" , ").isEmpty).toBe(true);
    expect(parseTokenList(undefined).identify("x")).toBeNull();
  });

  it("accepts exactly the configured tokens", () => {
    const token = fc.stringMatching(/^[A-Za-z0-9._~+/=-]{8,40}$/);
    fc.assert(
      fc.property(fc.uniqueArray(token, { minLength: 1, maxLength: 5 }), token, (configured, presented) => {
        const tokens = parseTokenList(configured.join(","));
        for (const secret of configured) expect(tokens.identify(secret)).not.toBeNull();
        expect(tokens.identify(presented) !== null).toBe(configured.includes(presented));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("bearerToken / requireToken", () => {
  it("reads only the Bearer scheme", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer   abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeNull();
    expect(bearerToken("Bearer a b")).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });

  it("throws 401 ApiErrors for a missing or unknown token", () => {
    const tokens = parseTokenList("ops:right");
    expect(requireToken(tokens, "Bearer right", "writing")).toBe("ops");
    for (const header of [undefined, "Bearer wrong", "Token right"]) {
      try {
        requireToken(tokens, header, "writing");
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ApiError);
        expect((error as ApiError).statusCode).toBe(401);
      }
    }
  });
});

describe("authorize: one decision per declared level", () => {
  const policy = (overrides: Partial<AccessPolicy> = {}): AccessPolicy => ({
    writeTokens: parseTokenList("ops:w-secret"),
    readTokens: parseTokenList("dash:r-secret"),
    publicReads: false,
    ...overrides,
  });
  const status = (p: AccessPolicy, level: "public" | "read" | "write", header?: string): string | number => {
    try {
      return authorize(p, level, header) ?? "anonymous";
    } catch (error) {
      return (error as ApiError).statusCode;
    }
  };

  it("public: anyone; write: a write token only; read: a read or a write token", () => {
    const p = policy();
    expect(status(p, "public")).toBe("anonymous");
    expect(status(p, "write", "Bearer w-secret")).toBe("ops");
    expect(status(p, "write", "Bearer r-secret")).toBe(401);
    expect(status(p, "read", "Bearer r-secret")).toBe("dash");
    expect(status(p, "read", "Bearer w-secret")).toBe("ops");
    expect(status(p, "read")).toBe(401);
    expect(status(p, "read", "Bearer nope")).toBe(401);
  });

  it("with no read token configured, reads need a write token (never open by accident)", () => {
    const p = policy({ readTokens: parseTokenList(undefined) });
    expect(status(p, "read")).toBe(401);
    expect(status(p, "read", "Bearer w-secret")).toBe("ops");
    expect(status(policy({ readTokens: parseTokenList(""), writeTokens: parseTokenList("") }), "read")).toBe(
      401,
    );
  });

  it("API_PUBLIC_READS opens reads only; a valid token still names the caller", () => {
    const p = policy({ publicReads: true });
    expect(status(p, "read")).toBe("anonymous");
    expect(status(p, "read", "Bearer r-secret")).toBe("dash");
    expect(status(p, "write")).toBe(401);
  });

  it("a 401 carries WWW-Authenticate: Bearer, with invalid_token when a token was sent", () => {
    try {
      authorize(policy(), "read", undefined);
    } catch (error) {
      expect((error as ApiError).headers).toEqual({ "www-authenticate": 'Bearer realm="adpipe"' });
    }
    try {
      authorize(policy(), "read", "Bearer wrong");
    } catch (error) {
      expect((error as ApiError).headers).toEqual({
        "www-authenticate": 'Bearer realm="adpipe", error="invalid_token"',
      });
    }
  });
});
