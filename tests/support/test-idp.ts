/**
 * A tiny OAuth 2.0 identity provider for tests, standing in for Microsoft Entra ID: RS256 JWTs signed with
 * node:crypto keys, the public keys served as a JWKS over HTTP (what Kafka's OAuthBearerValidatorCallbackHandler
 * and Azurite's `--oauth basic` check tokens against), key rotation, and deliberately bad tokens (expired, wrong
 * audience, unknown signing key). `credential()` is a @azure/core-auth TokenCredential, so production code gets its
 * tokens exactly as it gets them from @azure/identity — only the issuer differs.
 */
import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";

interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
}

export interface IssueOptions {
  /** `aud`; default: the audience the scope names (scope minus "/.default"). */
  readonly audience?: string;
  readonly subject?: string;
  /** Lifetime from now; negative issues a token that has already expired. */
  readonly lifetimeMs?: number;
  /** Sign with a key the JWKS does not publish. */
  readonly unknownKey?: boolean;
}

export interface CredentialOptions extends Omit<IssueOptions, "lifetimeMs"> {
  /** Lifetime of each token. Default 1 h. */
  readonly lifetimeMs?: number;
  /**
   * Tell the caller the token is valid for `lifetimeMs` while its `exp` claim says it expired a minute ago: a
   * skewed or broken issuer, so the broker (not the client) must refuse it.
   */
  readonly expiredClaim?: boolean;
}

export interface IssuedToken {
  readonly token: string;
  readonly audience: string;
  readonly kid: string;
  readonly expiresOnMs: number;
}

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } };
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

export class TestIdentityProvider {
  /** Every token issued through credential() or issue(), newest last (the tests' evidence of refreshes). */
  readonly issued: IssuedToken[] = [];
  jwksRequests = 0;
  private current = newKey();
  /** Published before it signs anything, so a broker's cached JWKS already knows it after a rotation. */
  private next = newKey();
  private previous: SigningKey | undefined;
  private readonly stranger = newKey();

  private constructor(
    private readonly server: Server,
    readonly jwksUrl: string,
    /** Entra ID's issuer form, which Azurite's `--oauth basic` also requires. */
    readonly issuer: string,
  ) {}

  static async start(tenant = "00000000-0000-4000-8000-000000000001"): Promise<TestIdentityProvider> {
    let idp: TestIdentityProvider | undefined;
    const server = createServer((request, response) => {
      if (request.method === "GET" && request.url === "/jwks" && idp !== undefined) {
        idp.jwksRequests += 1;
        response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        response.end(JSON.stringify({ keys: idp.publishedKeys().map((key) => key.jwk) }));
        return;
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    idp = new TestIdentityProvider(
      server,
      `http://127.0.0.1:${port}/jwks`,
      `https://sts.windows.net/${tenant}/`,
    );
    return idp;
  }

  private publishedKeys(): SigningKey[] {
    return [this.current, this.next, ...(this.previous === undefined ? [] : [this.previous])];
  }

  /** The key id new tokens are signed with. */
  get currentKid(): string {
    return this.current.kid;
  }

  /** Signs with the pre-published next key from now on; the old key stays published for tokens in flight. */
  rotate(): void {
    this.previous = this.current;
    this.current = this.next;
    this.next = newKey();
  }

  /** Issues one signed token for `scope` (`https://<host>/.default` -> audience `https://<host>`). */
  issue(scope: string, options: IssueOptions = {}): IssuedToken {
    const key = options.unknownKey === true ? this.stranger : this.current;
    const nowSeconds = Math.floor(Date.now() / 1_000);
    const lifetimeSeconds = Math.round((options.lifetimeMs ?? 3_600_000) / 1_000);
    const audience = options.audience ?? scope.replace(/\/\.default$/, "");
    const payload = {
      aud: audience,
      iss: this.issuer,
      sub: options.subject ?? "adpipe-test-workload",
      iat: Math.min(nowSeconds, nowSeconds + lifetimeSeconds) - 1,
      nbf: Math.min(nowSeconds, nowSeconds + lifetimeSeconds) - 1,
      exp: nowSeconds + lifetimeSeconds,
      oid: randomUUID(),
      tid: this.issuer.split("/")[3],
    };
    const header = { alg: "RS256", typ: "JWT", kid: key.kid };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = createSign("RSA-SHA256").update(signingInput).sign(key.privateKey);
    const issued = {
      token: `${signingInput}.${base64url(signature)}`,
      audience,
      kid: key.kid,
      expiresOnMs: payload.exp * 1_000,
    };
    this.issued.push(issued);
    return issued;
  }

  /** A TokenCredential (the interface @azure/identity's credentials implement) backed by this provider. */
  credential(options: CredentialOptions = {}): TokenCredential & { readonly requests: number } {
    const idp = this;
    let requests = 0;
    return {
      get requests() {
        return requests;
      },
      async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
        requests += 1;
        const scope = [scopes].flat()[0] ?? "";
        const lifetimeMs = options.lifetimeMs ?? 3_600_000;
        const issued = idp.issue(scope, {
          ...options,
          lifetimeMs: options.expiredClaim === true ? -60_000 : lifetimeMs,
        });
        return {
          token: issued.token,
          expiresOnTimestamp: options.expiredClaim === true ? Date.now() + lifetimeMs : issued.expiresOnMs,
        };
      },
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
