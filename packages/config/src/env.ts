import { z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** The result of parsing without throwing: either the value or every issue found. */
export type EnvParseResult<T> =
  | { readonly ok: true; readonly value: T; readonly issues: readonly [] }
  | { readonly ok: false; readonly value?: undefined; readonly issues: readonly ConfigIssue[] };

/**
 * Empty values count as unset: `FOO=` in an env file or a CI variable defined but left blank must fall
 * back to the default rather than fail as "invalid".
 */
function withoutBlankValues(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") out[key] = value;
  }
  return out;
}

/** Parses env vars with a zod object schema whose keys are the variable names; never throws. */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  env: Env = process.env,
): EnvParseResult<z.output<S>> {
  const result = schema.safeParse(withoutBlankValues(env));
  if (result.success) return { ok: true, value: result.data, issues: [] };
  const issues = result.error.issues.map(
    (issue): ConfigIssue => ({
      variable: String(issue.path[0] ?? "(environment)"),
      // zod's messages describe the expectation ("expected one of ...") and do not echo the input.
      message: issue.message,
    }),
  );
  return { ok: false, issues };
}

/**
 * Parses env vars with a zod object schema whose keys are the variable names.
 * Throws one ConfigError listing every bad variable (never their values).
 */
export function loadEnv<S extends z.ZodObject>(schema: S, env: Env = process.env): z.output<S> {
  const result = parseEnv(schema, env);
  if (!result.ok) throw new ConfigError("invalid_env", result.issues);
  return result.value;
}

const TRUE_WORDS = ["true", "1", "yes", "on"];
const FALSE_WORDS = ["false", "0", "no", "off"];

/** Schema building blocks for environment variables (strings in, typed values out). */
export const envVar = {
  /** "true/1/yes/on" or "false/0/no/off", case-insensitive. */
  boolean: () =>
    z.string().transform((value, ctx) => {
      const word = value.trim().toLowerCase();
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      ctx.addIssue({
        code: "custom",
        message: `expected one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(", ")}`,
      });
      return z.NEVER;
    }),
  /** A whole number within [min, max]. */
  integer: (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .regex(/^\s*-?\d+\s*$/, "expected a whole number")
      .transform(Number)
      .pipe(z.number().int().min(min).max(max)),
  /** A comma-separated list of non-empty items (whitespace around items ignored). */
  list: () =>
    z
      .string()
      .transform((value) =>
        value
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item !== ""),
      )
      .pipe(z.array(z.string()).min(1, "expected at least one item")),
  /** A URL with one of the given schemes (e.g. ["postgres:", "postgresql:"]). */
  url: (protocols: readonly string[]) =>
    z.string().refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      { message: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}` },
    ),
};
