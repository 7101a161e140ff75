import { type AzureAuth, createAzureCredential, redact } from "@adpipe/config";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { KafkaError } from "./errors.js";

/** Never keep a token longer than this before its expiry: Entra ID tokens live 60-90 min. */
const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
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
 * The kafkajs `oauthBearerProvider` for Entra ID: returns a cached token and gets a new one before the old one
 * expires — at the credential's refresh hint, else when less than min(5 min, half its lifetime) is left — so a
 * broker re-authentication (KIP-368, which kafkajs performs before the session the broker granted ends) always
 * presents a token with most of its lifetime left. Concurrent connections share one request. When a refresh fails
 * and the cached token still has time left, the cached token is used (and the failure reported); otherwise the
 * failure is thrown as KafkaError("authentication_failed") with a redacted message.
 */
export class OAuthTokenProvider {
  private credential: TokenCredential | undefined;
  private cached: { token: string; expiresOnMs: number; refreshAtMs: number } | undefined;
  private inFlight: Promise<string> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly scope: string,
    private readonly auth: AzureAuth | undefined,
    private readonly options: OAuthTokenProviderOptions = {},
  ) {
    this.credential = options.credential;
    this.now = options.now ?? Date.now;
    if (this.credential === undefined && auth === undefined) {
      throw new KafkaError("invalid_state", "an OAuth token provider needs a credential or an AzureAuth");
    }
  }

  /** kafkajs' oauthBearerProvider contract: `{ value }`. */
  readonly provide = async (): Promise<{ value: string }> => ({ value: await this.token() });

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
    const describe = this.auth === undefined ? "an injected credential" : `AZURE_AUTH=${this.auth.mode}`;
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
    const byMargin = token.expiresOnTimestamp - Math.min(MAX_REFRESH_MARGIN_MS, lifetime / 2);
    const refreshAtMs = Math.min(byMargin, token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY);
    this.cached = { token: token.token, expiresOnMs: token.expiresOnTimestamp, refreshAtMs };
    this.options.onRefresh?.({ expiresOnMs: token.expiresOnTimestamp, refreshAtMs });
    return token.token;
  }
}

function errorText(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}
