import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REDACTED, redact, redactUrl, urlPasswordSecrets } from "../src/redact.js";

describe("redact", () => {
  it("removes SharedAccessKey values and keeps the rest of the connection string", () => {
    const text =
      "connecting with Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc+/def==;EntityPath=hub";
    expect(redact(text)).toBe(
      `connecting with Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=${REDACTED};EntityPath=hub`,
    );
  });

  it("removes SAS signatures", () => {
    expect(redact("SharedAccessSignature=SharedAccessSignature sr=a&sig=XyZ%2B&se=1;x=1")).not.toContain(
      "XyZ",
    );
    expect(redact("token SharedAccessSignature sr=a&sig=XyZ%2B&se=1")).not.toContain("XyZ");
  });

  it.each([
    ["postgres://app:s3cr3t@db:5432/x", `postgres://app:${REDACTED}@db:5432/x`],
    ["redis://:s3cr3t@127.0.0.1:6379", `redis://:${REDACTED}@127.0.0.1:6379`],
    [
      "failed: rediss://default:s3cr3t@cache:6380/0 (timeout)",
      `failed: rediss://default:${REDACTED}@cache:6380/0 (timeout)`,
    ],
  ])("removes the password of %s", (text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it("removes JWTs (OAuth access tokens) wherever they appear", () => {
    const jwt =
      "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJhdWQiOiJodHRwczovL25zLnNlcnZpY2VidXMud2luZG93cy5uZXQifQ.c2lnbmF0dXJlLWJ5dGVz";
    expect(redact(`SASL frame n,,\u0001auth=Bearer ${jwt}\u0001`)).not.toContain("eyJhdWQi");
    expect(redact(`token ${jwt} rejected`)).toBe(`token ${REDACTED} rejected`);
    expect(redact("eyJ is not a token")).toBe("eyJ is not a token");
  });

  it("removes bearer/basic tokens and password-like fields", () => {
    expect(redact("Authorization: Bearer eyJhbGciOi.J9.sig")).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redact("Authorization: Basic dXNlcjpwYXNz")).toBe(`Authorization: Basic ${REDACTED}`);
    expect(redact('{"username":"u","password":"p w \\" d","x":1}')).toBe(
      `{"username":"u","password":"${REDACTED}","x":1}`,
    );
    expect(redact("host=db password=s3cr3t user=app")).toBe(`host=db password="${REDACTED}" user=app`);
    expect(redact("?token=abc&x=1")).toBe(`?token="${REDACTED}"&x=1`);
  });

  it("removes extra literal secrets, longest first", () => {
    expect(redact("a hunter2 b hunter22", ["hunter2", "hunter22", "", undefined])).toBe(
      `a ${REDACTED} b ${REDACTED}`,
    );
    expect(redact("x.y(z)", ["y(z)"])).toBe(`x.${REDACTED}`);
  });

  it("leaves text without secrets alone", () => {
    const text = "consumer joined group g-1 with 3 partitions at https://example.com/path";
    expect(redact(text)).toBe(text);
  });

  const base64Key = fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((bytes) => Buffer.from(bytes).toString("base64"));
  const noise = fc.string({ maxLength: 30 });
  const keyName = fc.constantFrom(
    "SharedAccessKey",
    "sharedaccesskey",
    "SHAREDACCESSKEY",
    "SharedAccessKey ",
  );
  const wrapper = fc.constantFrom(
    (s: string) => s,
    (s: string) => JSON.stringify({ msg: "connect", connectionString: s }),
    (s: string) => `'${s}'`,
    (s: string) => `"${s}"`,
    (s: string) => `password=${s}`,
  );

  it("never leaves a generated SharedAccessKey in its output", () => {
    fc.assert(
      fc.property(
        noise,
        noise,
        keyName,
        base64Key,
        fc.boolean(),
        wrapper,
        (before, after, name, key, withHub, wrap) => {
          const connection = `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;${name}=${key}${withHub ? ";EntityPath=hub" : ""}`;
          const out = redact(`${before}${wrap(connection)}${after}`);
          expect(out).not.toContain(key);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("never leaves a generated URL password or extra secret in its output", () => {
    const password = fc.stringMatching(/^[A-Za-z0-9!$%*+_.~-]{8,40}$/);
    fc.assert(
      fc.property(
        noise,
        noise,
        password,
        fc.constantFrom("postgres", "redis", "amqps"),
        (before, after, secret, scheme) => {
          const out = redact(`${before} ${scheme}://user:${secret}@host:1/db ${after}`);
          expect(out).not.toContain(`:${secret}@`);
          expect(redact(`${before}${secret}${after}`, [secret])).not.toContain(secret);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("redactUrl", () => {
  it("replaces the password and secret query parameters", () => {
    expect(redactUrl("postgres://app:s3cr3t@db:5432/x?sslmode=require&password=p")).toBe(
      `postgres://app:${REDACTED}@db:5432/x?sslmode=require&password=${REDACTED}`,
    );
    expect(redactUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });

  it("falls back to text redaction for strings that are not URLs", () => {
    expect(redactUrl("not a url password=x")).toBe(`not a url password="${REDACTED}"`);
  });
});

describe("urlPasswordSecrets", () => {
  it("gives the decoded password of a URL, nothing when there is none or the URL does not parse", () => {
    expect(urlPasswordSecrets("postgres://app:p%40ss%2Fword@db:5432/x")).toEqual(["p@ss/word"]);
    expect(urlPasswordSecrets("postgres://app@db:5432/x")).toEqual([]);
    expect(urlPasswordSecrets("not a url")).toEqual([]);
  });

  it("the password it gives is removed by redact wherever it stands", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._~-]{4,20}$/), (password) => {
        const secrets = urlPasswordSecrets(`postgres://app:${password}@db/x`);
        expect(secrets).toEqual([password]);
        expect(redact(`auth failed for ${password}`, secrets)).not.toContain(password);
      }),
    );
  });
});
