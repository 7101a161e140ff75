/** What replaces a secret in redacted text. */
export const REDACTED = "[redacted]";

// Each pattern keeps the part that says what was there (the key name, the user name) and drops the secret.
const SECRET_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // Event Hubs / Service Bus keys and SAS tokens inside connection strings: everything up to the next ';'.
  [/(SharedAccessKey\s*=\s*)[^;\s"'`]+/gi, `$1${REDACTED}`],
  [/(SharedAccessSignature\s*=\s*)[^;"'`]+/gi, `$1${REDACTED}`],
  // A SAS token on its own: "SharedAccessSignature sr=...&sig=...&se=...".
  [/([?&\s]sig=)[^&\s;"'`]+/gi, `$1${REDACTED}`],
  // user:password@ in any URL (postgres://, redis://, amqp://, https://...).
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@]*@/gi, `$1${REDACTED}@`],
  // A JWT anywhere (an OAuth access token in an error message or a SASL frame dump): header.payload.signature.
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // HTTP authorization headers.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${REDACTED}`],
  // key: "value" / key=value for secret-looking keys: JSON, logfmt, libpq strings, query strings.
  [
    /((?:["']?)(?:password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api_?key|sasl_password)(?:["']?)\s*[:=]\s*)(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;&"'}]+)/gi,
    `$1"${REDACTED}"`,
  ],
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Removes secrets from free text before it reaches a log line or an error message: Event Hubs
 * SharedAccessKey / SharedAccessSignature values, URL passwords, bearer/basic tokens, JWTs, `password=`-like
 * fields, and every literal string in `extraSecrets` (e.g. a SASL password from configuration).
 */
export function redact(text: string, extraSecrets: Iterable<string | undefined> = []): string {
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  const literals = [...extraSecrets]
    .filter((secret): secret is string => typeof secret === "string" && secret !== "")
    .sort((a, b) => b.length - a.length);
  for (const secret of literals) out = out.replace(new RegExp(escapeRegExp(secret), "g"), REDACTED);
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

const SECRET_QUERY_PARAMETERS =
  /^(password|passwd|pwd|secret|token|access_token|sig|signature|api_?key|key)$/i;

/** A URL safe to log: its password and secret-looking query parameters are replaced. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redact(url);
  }
  if (parsed.password !== "") parsed.password = REDACTED;
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_QUERY_PARAMETERS.test(name)) parsed.searchParams.set(name, REDACTED);
  }
  // URL percent-encodes the marker's brackets; show it plainly.
  return parsed.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED);
}

/**
 * An Azure SDK error (RestError) keeps the whole request — its Authorization header, a bearer token or a SAS
 * signature, included — and loggers serialize an error's cause. This keeps what diagnoses a failure: name,
 * redacted message, HTTP status, service error code and the authentication detail (e.g. "The token is expired").
 */
export function sanitizeAzureError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const { statusCode, code, details } = error as {
    statusCode?: unknown;
    code?: unknown;
    details?: { errorCode?: unknown; authenticationErrorDetail?: unknown };
  };
  return Object.assign(new Error(redact(error.message)), {
    name: error.name,
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(code === undefined ? {} : { code }),
    ...(details?.errorCode === undefined ? {} : { errorCode: details.errorCode }),
    ...(details?.authenticationErrorDetail === undefined
      ? {}
      : { authenticationErrorDetail: details.authenticationErrorDetail }),
  });
}

/**
 * The password of a connection URL (percent-decoded) as a one-element list to spread into a logger's literal
 * secrets, so it is removed even where it appears outside the URL; an empty list when there is none or the URL
 * does not parse.
 */
export function urlPasswordSecrets(url: string): string[] {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === "" ? [] : [password];
  } catch {
    return [];
  }
}
