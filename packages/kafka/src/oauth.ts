import { type AzureAuth, createAzureCredential, redact } from "@adpipe/config";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import kafkajs, { type Mechanism } from "kafkajs";
import { KafkaError } from "./errors.js";

/** Never keep a token longer than this before its expiry: Entra ID tokens live 60-90 min. */
const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
/**
 * Never hand out a token with less than this left (unless the credential's tokens live shorter): kafkajs
 * re-authenticates `reauthenticationThreshold` (10 s, see client.ts) before the session the broker granted ends, and
 * the session ends with the token. A token with less left than that would make kafkajs re-authenticate again at
 * once, which brokers refuse within a second of the last one (ILLEGAL_SASL_STATE).
 */
export const MIN_TOKEN_REMAINING_MS = 15_000;
/** Below this remaining lifetime a token is not handed to the broker even if the refresh failed. */
const MIN_USABLE_MS = 5_000;

export interface OAuthTokenProviderOptions {
  /** The credential to ask; default: the @azure/identity credential AZURE_AUTH names. Tests inject their own. */
  readonly credential?: TokenCredential;
  /** Clock, for tests. */
  readonly now?: () => number;
  /** Called with each fresh token's expiry (metrics, tests); never with the token. */
  readonly onRefresh?: (info: { expiresOnMs: number; refreshAtMs: number }) => void;
  /** Warnings (a failed refresh while the old token is still valid). */
  readonly warn?: (message: string) => void;
}

/**
 * Entra ID tokens for kafkajs: returns a cached token and gets a new one before the old one expires — at the
 * credential's refresh hint, else when less than max(min(5 min, half its lifetime), 15 s) is left — so a broker
 * re-authentication (KIP-368, which kafkajs performs before the session the broker granted ends) always presents a
 * token with most of its lifetime left. Concurrent connections share one request. When a refresh fails
 * and the cached token still has time left, the cached token is used (and the failure reported); otherwise the
 * failure is thrown as KafkaError("authentication_failed") with a redacted message.
 */
export class OAuthTokenProvider {
  /** What the tokens come from, for messages: "AZURE_AUTH=<mode>" or "an injected credential". */
  readonly source: string;
  private credential: TokenCredential | undefined;
  private cached: { token: string; expiresOnMs: number; refreshAtMs: number } | undefined;
  private inFlight: Promise<string> | undefined;
  private readonly now: () => number;

  constructor(
    readonly scope: string,
    private readonly auth: AzureAuth | undefined,
    private readonly options: OAuthTokenProviderOptions = {},
  ) {
    this.credential = options.credential;
    this.source =
      options.credential !== undefined || auth === undefined
        ? "an injected credential"
        : `AZURE_AUTH=${auth.mode}`;
    this.now = options.now ?? Date.now;
    if (this.credential === undefined && auth === undefined) {
      throw new KafkaError("invalid_state", "an OAuth token provider needs a credential or an AzureAuth");
    }
  }

  async token(): Promise<string> {
    const now = this.now();
    const cached = this.cached;
    if (cached !== undefined && now < cached.refreshAtMs) return cached.token;
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    try {
      return await this.inFlight;
    } catch (error) {
      if (cached !== undefined && cached.expiresOnMs - this.now() > MIN_USABLE_MS) {
        this.options.warn?.(
          `refreshing the Entra ID token for ${this.scope} failed; using the current one until it expires: ${errorText(error)}`,
        );
        return cached.token;
      }
      throw error;
    }
  }

  private async refresh(): Promise<string> {
    const describe = this.source;
    let token: AccessToken | null;
    try {
      this.credential ??= await createAzureCredential(this.auth as AzureAuth);
      token = await this.credential.getToken(this.scope);
    } catch (error) {
      throw new KafkaError(
        "authentication_failed",
        `cannot get an Entra ID token for ${this.scope} (${describe}): ${errorText(error)}`,
        { cause: error },
      );
    }
    const now = this.now();
    if (token === null || token.token === "") {
      throw new KafkaError(
        "authentication_failed",
        `the credential (${describe}) returned no token for ${this.scope}`,
      );
    }
    if (token.expiresOnTimestamp <= now) {
      throw new KafkaError(
        "authentication_failed",
        `the credential (${describe}) returned an expired token for ${this.scope} (expired ${new Date(token.expiresOnTimestamp).toISOString()}; check the clock)`,
      );
    }
    const lifetime = token.expiresOnTimestamp - now;
    const margin = Math.max(Math.min(MAX_REFRESH_MARGIN_MS, lifetime / 2), MIN_TOKEN_REMAINING_MS);
    const byMargin = token.expiresOnTimestamp - margin;
    const refreshAtMs = Math.min(byMargin, token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY);
    this.cached = { token: token.token, expiresOnMs: token.expiresOnTimestamp, refreshAtMs };
    this.options.onRefresh?.({ expiresOnMs: token.expiresOnTimestamp, refreshAtMs });
    return token.token;
  }
}

function errorText(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

const SOH = "\u0001";
// kafkajs is CommonJS and spreads its error classes into its exports, which Node's ESM loader cannot name: take the
// class off the default export. Its typings declare no constructor arguments; at runtime it takes the message.
const SaslAuthenticationError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (
  message: string,
) => Error;

/** SASL payloads travel as length-prefixed bytes in kafkajs' authenticator API. */
function lengthPrefixed(bytes: Buffer): Buffer {
  const out = Buffer.alloc(4 + bytes.length);
  out.writeInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

function withoutLengthPrefix(raw: Buffer): Buffer {
  if (raw.length < 4) return Buffer.alloc(0);
  const length = raw.readInt32BE(0);
  return length <= 0 ? Buffer.alloc(0) : raw.subarray(4, 4 + length);
}

/** The non-secret claims of a JWT (audience, issuer, expiry) for an error message; {} when it is not a JWT. */
export function tokenClaimsForDiagnosis(token: string): { aud?: unknown; iss?: unknown; exp?: string } {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      aud?: unknown;
      iss?: unknown;
      exp?: unknown;
    };
    return {
      ...(payload.aud === undefined ? {} : { aud: payload.aud }),
      ...(payload.iss === undefined ? {} : { iss: payload.iss }),
      ...(typeof payload.exp === "number" ? { exp: new Date(payload.exp * 1_000).toISOString() } : {}),
    };
  } catch {
    return {};
  }
}

/** What can be said about a refused token without showing it: audience against the scope's, issuer, expiry. */
function diagnoseToken(token: string, scope: string, now = Date.now()): string {
  const claims = tokenClaimsForDiagnosis(token);
  const expected = scope.replace(/\/\.default$/, "");
  const audiences = [claims.aud].flat().map(String);
  const audience =
    claims.aud === undefined
      ? "The token has no audience"
      : audiences.some((aud) => aud.replace(/\/$/, "") === expected)
        ? `Its audience ${JSON.stringify(claims.aud)} matches the namespace`
        : `Its audience ${JSON.stringify(claims.aud)} is not the namespace's (${expected}): the credential asked for the wrong scope or resource`;
  const expiryMs = claims.exp === undefined ? Number.NaN : Date.parse(claims.exp);
  const expiry = Number.isNaN(expiryMs)
    ? "it carries no expiry"
    : expiryMs <= now
      ? `it EXPIRED at ${claims.exp} (${Math.round((now - expiryMs) / 1_000)} s ago: check the clocks)`
      : `it expires at ${claims.exp}`;
  return (
    `${audience}; issuer ${JSON.stringify(claims.iss)}; ${expiry}. ` +
    "Otherwise the broker does not trust its issuer or signing key, or the identity lacks an Azure Event Hubs Data role"
  );
}

/**
 * SASL OAUTHBEARER (RFC 7628) for kafkajs with a failure it can report. kafkajs' built-in mechanism ignores the
 * server's reply, so a refused token surfaces only at the next request as "Request is not valid given the current
 * SASL state". Here the reply is read: a non-empty one is the broker's error (`{"status":"invalid_token",...}`),
 * thrown as KafkaJSSASLAuthenticationError (non-retriable; isAuthenticationError() sees it) naming the broker,
 * the scope, the credential and the token's audience, issuer and expiry — never the token.
 */
export function oauthBearerMechanism(tokens: OAuthTokenProvider): Mechanism {
  return {
    mechanism: "oauthbearer",
    authenticationProvider: ({ host, port, logger, saslAuthenticate }) => ({
      authenticate: async () => {
        const token = await tokens.token();
        const initial = `n,,${SOH}auth=Bearer ${token}${SOH}${SOH}`;
        const reply = await saslAuthenticate<string>({
          request: { encode: () => lengthPrefixed(Buffer.from(initial, "utf8")) },
          response: {
            decode: (raw: Buffer) => withoutLengthPrefix(raw),
            parse: (data: Buffer) => data.toString("utf8"),
          },
        });
        if (typeof reply === "string" && reply !== "") {
          const message = `${host}:${port} refused the OAuth token for ${tokens.scope} (from ${tokens.source}): ${redact(reply)}. ${diagnoseToken(token, tokens.scope)}`;
          logger.error(message, { broker: `${host}:${port}` });
          throw new SaslAuthenticationError(message);
        }
        logger.debug("SASL OAUTHBEARER authentication successful", { broker: `${host}:${port}` });
      },
    }),
  };
}
