import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "./errors.js";

/** A configured bearer token, kept only as its SHA-256 digest. */
interface TokenEntry {
  readonly identity: string;
  readonly digest: Buffer;
}

export interface TokenSet {
  /** True when no token is configured (reads are then open). */
  readonly isEmpty: boolean;
  /** The identity of the presented token, or null. Compares against every entry in constant time. */
  identify(presented: string): string | null;
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
      // Hashing first gives equal-length buffers, so timingSafeEqual never throws and the time
      // taken does not depend on how much of a secret the caller guessed. Every entry is compared.
      const digest = sha256(presented);
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

/** Resolves the caller's identity for a route that needs `tokens`, or throws 401. */
export function requireToken(tokens: TokenSet, header: string | undefined, purpose: string): string {
  const presented = bearerToken(header);
  if (presented === null) {
    throw new ApiError("unauthorized", `${purpose} needs an Authorization: Bearer token`);
  }
  const identity = tokens.identify(presented);
  if (identity === null) throw new ApiError("unauthorized", "the bearer token is not valid");
  return identity;
}
