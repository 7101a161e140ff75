import { kafkaConnectionFromEnv } from "@adpipe/config";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import fc from "fast-check";
import type { AuthenticationProviderArgs, Mechanism } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaClientConfig } from "../src/client.js";
import { KafkaError } from "../src/errors.js";
import { MIN_TOKEN_REMAINING_MS, OAuthTokenProvider, tokenClaimsForDiagnosis } from "../src/oauth.js";

const SCOPE = "https://ns.servicebus.windows.net/.default";
const MINUTE = 60_000;

/** A credential whose tokens live `lifetimeMs` on a fake clock; it counts calls and can be made to fail. */
class FakeCredential implements TokenCredential {
  calls = 0;
  scopes: string[] = [];
  failNext: Error | null = null;
  constructor(
    readonly clock: { now: number },
    readonly lifetimeMs: number,
    readonly refreshAfterMs?: number,
  ) {}
  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
    this.calls += 1;
    this.scopes.push(...[scopes].flat());
    if (this.failNext !== null) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    return {
      token: `token-${this.calls}`,
      expiresOnTimestamp: this.clock.now + this.lifetimeMs,
      ...(this.refreshAfterMs === undefined
        ? {}
        : { refreshAfterTimestamp: this.clock.now + this.refreshAfterMs }),
    };
  }
}

function provider(credential: FakeCredential, warnings: string[] = []) {
  return new OAuthTokenProvider(SCOPE, undefined, {
    credential,
    now: () => credential.clock.now,
    warn: (message) => warnings.push(message),
  });
}

describe("OAuthTokenProvider", () => {
  it("asks for the namespace scope once and reuses the token until min(5 min, half its lifetime) is left", async () => {
    const clock = { now: 1_000_000 };
    const credential = new FakeCredential(clock, 60 * MINUTE);
    const tokens = provider(credential);
    expect(await tokens.token()).toBe("token-1");
    clock.now += 54 * MINUTE;
    expect(await tokens.token()).toBe("token-1");
    clock.now += 1 * MINUTE + 1;
    expect(await tokens.token()).toBe("token-2");
    expect(credential.scopes).toEqual([SCOPE, SCOPE]);
  });

  it("refreshes short-lived tokens at half their lifetime but keeps 15 s for kafkajs' re-authentication", async () => {
    const clock = { now: 0 };
    const short = new FakeCredential(clock, 40_000);
    const shortTokens = provider(short);
    await shortTokens.token();
    clock.now = 19_999;
    expect(await shortTokens.token()).toBe("token-1");
    clock.now = 20_000;
    expect(await shortTokens.token()).toBe("token-2");
    // 20 s tokens: half is 10 s, less than kafkajs needs; they are renewed with 15 s left.
    const twenty = new FakeCredential({ now: 0 }, 20_000);
    const twentyTokens = provider(twenty);
    await twentyTokens.token();
    twenty.clock.now = 4_999;
    expect(await twentyTokens.token()).toBe("token-1");
    twenty.clock.now = 5_000;
    expect(await twentyTokens.token()).toBe("token-2");

    const hinted = new FakeCredential({ now: 0 }, 60 * MINUTE, 10 * MINUTE);
    const hintedTokens = provider(hinted);
    await hintedTokens.token();
    hinted.clock.now = 10 * MINUTE;
    expect(await hintedTokens.token()).toBe("token-2");
  });

  it("shares one request among concurrent callers", async () => {
    const credential = new FakeCredential({ now: 0 }, 60 * MINUTE);
    const tokens = provider(credential);
    const all = await Promise.all(Array.from({ length: 8 }, () => tokens.token()));
    expect(new Set(all)).toEqual(new Set(["token-1"]));
    expect(credential.calls).toBe(1);
  });

  it("keeps using a still-valid token when a refresh fails, and says so without the token", async () => {
    const clock = { now: 0 };
    const credential = new FakeCredential(clock, 60 * MINUTE);
    const warnings: string[] = [];
    const tokens = provider(credential, warnings);
    await tokens.token();
    clock.now = 56 * MINUTE;
    credential.failNext = new Error("IMDS timed out");
    expect(await tokens.token()).toBe("token-1");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("IMDS timed out");
    expect(warnings[0]).not.toContain("token-1");
    expect(await tokens.token()).toBe("token-3");
  });

  it("fails with authentication_failed (redacted) when there is no usable token", async () => {
    const clock = { now: 0 };
    const credential = new FakeCredential(clock, 60 * MINUTE);
    credential.failNext = new Error("AADSTS700016: app not found; Authorization: Bearer abc.def.ghi");
    const error = await provider(credential)
      .token()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as KafkaError).code).toBe("ADP_KAFKA_AUTHENTICATION_FAILED");
    expect((error as KafkaError).message).toContain(`cannot get an Entra ID token for ${SCOPE}`);
    expect((error as KafkaError).message).toContain("AADSTS700016");
    expect((error as KafkaError).message).not.toContain("abc.def.ghi");

    const expired = new FakeCredential(clock, -1);
    await expect(provider(expired).token()).rejects.toThrow(/returned an expired token/);
  });

  it("property: a token is never handed out with less than min(half its lifetime, 5 min) or 15 s left", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 16_000, max: 120 * MINUTE }),
        fc.array(fc.integer({ min: 0, max: 10 * MINUTE }), { minLength: 1, maxLength: 40 }),
        async (lifetime, steps) => {
          const clock = { now: 0 };
          const credential = new FakeCredential(clock, lifetime);
          const tokens = provider(credential);
          const expiryOf = new Map<string, number>();
          for (const step of steps) {
            clock.now += step;
            const before = credential.calls;
            const token = await tokens.token();
            if (credential.calls > before) expiryOf.set(token, clock.now + lifetime);
            const left = (expiryOf.get(token) ?? 0) - clock.now;
            expect(left).toBeGreaterThanOrEqual(
              Math.min(Math.max(Math.min(5 * MINUTE, lifetime / 2), 15_000), lifetime),
            );
          }
        },
      ),
    );
  });
});

describe("kafkaClientConfig with EVENT_HUB_NAMESPACE", () => {
  const connection = kafkaConnectionFromEnv({
    EVENT_HUB_NAMESPACE: "ns.servicebus.windows.net",
    EVENT_HUB_NAME: "clicks",
    AZURE_AUTH: "managed-identity",
  });

  it("configures SASL OAUTHBEARER over TLS with a token provider from the injected credential", async () => {
    const credential = new FakeCredential({ now: Date.now() }, 60 * MINUTE);
    const refreshes: number[] = [];
    const config = kafkaClientConfig(connection, {
      credential,
      onTokenRefresh: ({ expiresOnMs }) => refreshes.push(expiresOnMs),
    });
    expect(config).toMatchObject({ brokers: ["ns.servicebus.windows.net:9093"], ssl: true });
    expect(config.reauthenticationThreshold).toBeLessThan(MIN_TOKEN_REMAINING_MS);
    const sasl = config.sasl as Mechanism;
    expect(sasl.mechanism).toBe("oauthbearer");

    // Drive the authenticator as kafkajs does: one SaslAuthenticate round trip with length-prefixed bytes.
    const sent: Buffer[] = [];
    let reply = Buffer.alloc(4); // length 0: the broker accepted the token
    const logger = {
      error: () => undefined,
      debug: () => undefined,
    } as unknown as AuthenticationProviderArgs["logger"];
    const authenticator = sasl.authenticationProvider({
      host: "ns.servicebus.windows.net",
      port: 9093,
      logger,
      saslAuthenticate: async <T>({
        request,
        response,
      }: {
        request: { encode(): Buffer | Promise<Buffer> };
        response?: { decode(b: Buffer): Buffer | Promise<Buffer>; parse(b: Buffer): T };
      }) => {
        sent.push(await request.encode());
        return response === undefined ? undefined : response.parse(await response.decode(reply));
      },
    } as AuthenticationProviderArgs);
    await authenticator.authenticate();
    const first = sent[0] ?? Buffer.alloc(0);
    expect(first.readInt32BE(0)).toBe(first.length - 4);
    expect(first.subarray(4).toString()).toBe("n,,\u0001auth=Bearer token-1\u0001\u0001");
    expect(credential.scopes).toEqual(["https://ns.servicebus.windows.net/.default"]);
    expect(refreshes).toHaveLength(1);

    const refusal = Buffer.from('{"status":"invalid_token"}');
    reply = Buffer.concat([Buffer.alloc(4), refusal]);
    reply.writeInt32BE(refusal.length, 0);
    const error = await authenticator.authenticate().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe("KafkaJSSASLAuthenticationError");
    expect(error?.message).toContain(
      'ns.servicebus.windows.net:9093 refused the OAuth token for https://ns.servicebus.windows.net/.default (from an injected credential): {"status":"invalid_token"}',
    );
    expect(error?.message).not.toContain("token-1");
  });
});

describe("tokenClaimsForDiagnosis", () => {
  it("reads audience, issuer and expiry of a JWT and nothing of anything else", () => {
    const payload = Buffer.from(
      JSON.stringify({ aud: "https://a", iss: "https://i/", exp: 1_700_000_000, sub: "x" }),
    ).toString("base64url");
    expect(tokenClaimsForDiagnosis(`eyJhbGciOiJSUzI1NiJ9.${payload}.sig`)).toEqual({
      aud: "https://a",
      iss: "https://i/",
      exp: "2023-11-14T22:13:20.000Z",
    });
    expect(tokenClaimsForDiagnosis("opaque-token")).toEqual({});
  });
});
