import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "./errors.js";

/** A configured bearer token, kept only as its SHA-256 digest. */
interface TokenEntry {
  readonly identity: string;
  readonly digest: Buffer;
}

export interface TokenSet {
  /** True when no token is configured. */
  readonly isEmpty: boolean;
  /** The identity of the presented token, or null. Compares against every entry in constant time. */
  identify(presented: string): string | null;
  /** identify for a token already hashed (its SHA-256): one hash per request for several sets. */
  identifyDigest(digest: Buffer): string | null;
}

const NAMED_TOKEN = /^([A-Za-z0-9_.-]{1,64}):(.+)$/;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Parses a comma list of tokens. An entry `name:secret` gives the identity `name` (recorded in the
 * budget audit); a bare `secret` gets `token-<first 8 hex of its sha256>`, which names it without
 * revealing it. Several entries let operators rotate tokens without downtime.
 */
export function parseTokenList(list: string | undefined): TokenSet {
  const entries: TokenEntry[] = (list ?? "")
    .split(",")
    .map((raw) => raw.trim())
    .filter((raw) => raw.length > 0)
    .map((raw) => {
      const named = NAMED_TOKEN.exec(raw);
      const secret = named ? named[2]! : raw;
      const digest = sha256(secret);
      const identity = named ? named[1]! : `token-${digest.toString("hex").slice(0, 8)}`;
      return { identity, digest };
    });
  return {
    isEmpty: entries.length === 0,
    identify(presented) {
      return this.identifyDigest(sha256(presented));
    },
    identifyDigest(digest) {
      // Hashing first gives equal-length buffers, so timingSafeEqual never throws and the time
      // taken does not depend on how much of a secret the caller guessed. Every entry is compared.
      let found: string | null = null;
      for (const entry of entries) {
        if (timingSafeEqual(digest, entry.digest) && found === null) found = entry.identity;
      }
      return found;
    },
  };
}

/** The token in `Authorization: Bearer <token>`, or null when the header is absent or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1]! : null;
}

/** RFC 6750: a 401 names the scheme (and, for a token that was sent, why it was refused). */
const CHALLENGE = 'Bearer realm="adpipe"';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="adpipe", error="invalid_token"';

/** Resolves the caller's identity for a route that needs one of `tokens`, or throws 401. */
export function requireToken(
  tokens: TokenSet | readonly TokenSet[],
  header: string | undefined,
  purpose: string,
): string {
  const presented = bearerToken(header);
  if (presented === null) {
    throw new ApiError("unauthorized", `${purpose} needs an Authorization: Bearer token`, {
      headers: { "www-authenticate": CHALLENGE },
    });
  }
  // Every set is asked (each compares in constant time): which set knew the token does not show in the timing.
  // The token is hashed once for all of them.
  const digest = sha256(presented);
  let identity: string | null = null;
  for (const set of Array.isArray(tokens) ? tokens : [tokens as TokenSet]) {
    const found = set.identifyDigest(digest);
    identity ??= found;
  }
  if (identity === null) {
    throw new ApiError("unauthorized", "the bearer token is not valid", {
      headers: { "www-authenticate": INVALID_TOKEN_CHALLENGE },
    });
  }
  return identity;
}

/**
 * What a route needs, declared once per route (`config.auth`): `public` (probes, metrics, the API description,
 * the dashboard shell), `read` (the default of every route that declares nothing, and of a request that matched
 * no route) or `write`. The decision is taken on the route the router matched, never on the URL text, so no
 * spelling of a path (percent-encoding, case of the escapes, slashes) can change it.
 */
export const AUTH_LEVELS = ["public", "read", "write"] as const;
export type AuthLevel = (typeof AUTH_LEVELS)[number];
export const DEFAULT_AUTH_LEVEL: AuthLevel = "read";

export interface AccessPolicy {
  readonly writeTokens: TokenSet;
  readonly readTokens: TokenSet;
  /** API_PUBLIC_READS: read-level routes need no token (only behind a private network). */
  readonly publicReads: boolean;
}

/**
 * The caller's identity for a route of `level` (null: anonymous, allowed), or throws 401.
 * - write: a write token.
 * - read: a read or a write token; with no read token configured, a write token (reads are never open by
 *   accident); with API_PUBLIC_READS anyone, and a valid token still names the caller.
 * - public: anyone.
 */
export function authorize(policy: AccessPolicy, level: AuthLevel, header: string | undefined): string | null {
  switch (level) {
    case "public":
      return null;
    case "write":
      return requireToken(policy.writeTokens, header, "this endpoint");
    case "read": {
      if (policy.publicReads) {
        const presented = bearerToken(header);
        if (presented === null) return null;
        return identifyAny(policy, presented);
      }
      return requireToken([policy.readTokens, policy.writeTokens], header, "reading");
    }
  }
}

/** Whether the caller presented a token we know, without ever failing: decides how much a probe may say. */
export function knownCaller(policy: AccessPolicy, header: string | undefined): string | null {
  const presented = bearerToken(header);
  if (presented === null) return null;
  return identifyAny(policy, presented);
}

/** The identity a read or a write token gives, the token hashed once. */
function identifyAny(policy: AccessPolicy, presented: string): string | null {
  const digest = sha256(presented);
  return policy.readTokens.identifyDigest(digest) ?? policy.writeTokens.identifyDigest(digest);
}
