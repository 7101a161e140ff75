/**
 * Validation of docker-compose.yml without a Docker engine:
 * 1. YAML with merge keys, then Compose's variable interpolation with the defaults written in the file;
 * 2. the official Compose Specification JSON schema (the copy dclint ships, draft-07) with ajv, all errors;
 * 3. dclint's correctness and security rules (its style rules are off);
 * 4. this project's own rules (composeProblems): healthchecks, depends_on conditions, no inline secrets, ...
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Ajv } from "ajv";
import { DCLinter } from "dclint";
import { parse } from "yaml";

const require = createRequire(import.meta.url);

export type ComposeFile = {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
};

export type ComposeService = {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: unknown;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
  profiles?: string[];
  ports?: string[];
  volumes?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  [key: string]: unknown;
};

/** Parses compose YAML, resolving `<<` merge keys as Compose does. */
export function parseComposeYaml(text: string): unknown {
  return parse(text, { merge: true });
}

const VARIABLE =
  /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Compose's interpolation of one string: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR:+alt}`, `$VAR` and `$$`. Unset variables without a default become "" (Compose warns and does the same).
 */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>> = {}): string {
  return text.replace(
    VARIABLE,
    (match, braced: string | undefined, op: string | undefined, arg = "", bare: string | undefined) => {
      if (match === "$$") return "$";
      const name = braced ?? bare ?? "";
      const value = env[name];
      const isSet = value !== undefined;
      const isSetNonEmpty = isSet && value !== "";
      switch (op) {
        case ":-":
          return isSetNonEmpty ? value : interpolate(arg, env);
        case "-":
          return isSet ? value : interpolate(arg, env);
        case ":?":
        case "?":
          if (op === ":?" ? !isSetNonEmpty : !isSet)
            throw new Error(`required variable ${name} is missing: ${arg}`);
          return value ?? "";
        case ":+":
          return isSetNonEmpty ? interpolate(arg, env) : "";
        case "+":
          return isSet ? interpolate(arg, env) : "";
        default:
          return value ?? "";
      }
    },
  );
}

/** Interpolates every string in a parsed compose document (keys are left alone, as Compose does). */
export function interpolateDocument<T>(value: T, env: Readonly<Record<string, string | undefined>> = {}): T {
  if (typeof value === "string") return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((item) => interpolateDocument(item, env)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        key,
        interpolateDocument(item, env),
      ]),
    ) as T;
  }
  return value;
}

/** The Compose Specification schema bundled with dclint (the file the compose-spec project publishes). */
export function composeSchemaPath(): string {
  return join(dirname(require.resolve("dclint/package.json")), "schemas", "compose.schema.json");
}

export interface SchemaError {
  path: string;
  message: string;
}

/** Validates a (merged, interpolated) compose document against the Compose Specification; [] when valid. */
export function validateComposeSchema(document: unknown): SchemaError[] {
  const schema = JSON.parse(readFileSync(composeSchemaPath(), "utf8")) as Record<string, unknown>;
  // The file names draft-07 by its https URL, which ajv does not register; ajv's default dialect is draft-07.
  delete schema.$schema;
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  const validate = ajv.compile(schema);
  if (validate(document)) return [];
  return (validate.errors ?? []).map((error) => ({
    path: error.instancePath || "/",
    message: `${error.message ?? "invalid"}${error.params ? ` ${JSON.stringify(error.params)}` : ""}`,
  }));
}

/** dclint's rules that catch mistakes (not style): duplicate ports/names, unbound host ports, floating tags. */
export const DCLINT_RULES = {
  "no-duplicate-container-names": 2,
  "no-duplicate-exported-ports": 2,
  "no-unbound-port-interfaces": 2,
  "service-image-require-explicit-tag": 2,
  "no-version-field": 2,
  "require-project-name-field": 2,
  "no-quotes-in-volumes": 2,
  // Style rules: off (this file is ordered by data flow, not alphabetically).
  "no-build-and-image": 0,
  "require-quotes-in-ports": 0,
  "service-container-name-regex": 0,
  "service-dependencies-alphabetical-order": 0,
  "service-keys-order": 0,
  "service-ports-alphabetical-order": 0,
  "services-alphabetical-order": 0,
  "top-level-properties-order": 0,
} as const;

export interface LintMessage {
  rule: string;
  line: number;
  message: string;
}

/** Runs dclint (schema check plus DCLINT_RULES) on a compose file; returns its error messages. */
export function lintComposeFile(path: string): LintMessage[] {
  const linter = new DCLinter({ rules: { ...DCLINT_RULES }, quiet: true, debug: false, exclude: [] });
  // dclint's published declarations do not resolve their own relative imports; its results are this shape.
  const results = linter.lintFiles([path], false) as unknown as {
    messages: { type: string; rule: string; line: number; message: string }[];
  }[];
  return results
    .flatMap((result) => result.messages)
    .filter((message) => message.type === "error")
    .map((message) => ({ rule: message.rule, line: message.line, message: message.message }));
}

/** Environment variable names whose values are credentials. */
export const SECRET_NAME =
  /PASSWORD|SECRET|TOKEN|CONNECTION_STRING|ACCESS_KEY|PRIVATE_KEY|API_KEY|CREDENTIAL/i;

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf("=");
        return at < 0 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, value === null ? "" : String(value)]),
  );
}

function dependsOn(service: ComposeService): Record<string, string> {
  const deps = service.depends_on;
  if (deps === undefined) return {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, "service_started"]));
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec.condition]));
}

/** A one-shot service runs to completion: restart "no" (migrations, topic creation). */
export function isOneShot(service: ComposeService): boolean {
  return service.restart === "no";
}

function hasHealthcheck(service: ComposeService): boolean {
  return (
    service.healthcheck !== undefined &&
    service.healthcheck.disable !== true &&
    service.healthcheck.test !== undefined
  );
}

/** URLs with an inline password, e.g. postgres://user:secret@host. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@:\s]+:[^/@\s]+@/i;

/**
 * This project's rules for the raw (merged, not interpolated) compose document. Returns human-readable
 * problems; [] means the file follows them.
 */
export function composeProblems(raw: ComposeFile): string[] {
  const problems: string[] = [];
  const services = raw.services ?? {};
  const names = Object.keys(services);
  for (const [name, service] of Object.entries(services)) {
    if (!isOneShot(service) && !hasHealthcheck(service))
      problems.push(`${name}: long-running service without a healthcheck`);
    for (const [dependency, condition] of Object.entries(dependsOn(service))) {
      const target = services[dependency];
      if (target === undefined) {
        problems.push(`${name}: depends_on "${dependency}", which is not a service`);
        continue;
      }
      if (condition === "service_started") {
        problems.push(
          `${name}: depends_on "${dependency}" without a condition (use service_healthy or service_completed_successfully)`,
        );
      }
      if (condition === "service_healthy" && !hasHealthcheck(target)) {
        problems.push(`${name}: waits for "${dependency}" to be healthy, but it has no healthcheck`);
      }
      if (condition === "service_completed_successfully" && !isOneShot(target)) {
        problems.push(
          `${name}: waits for "${dependency}" to complete, but it is not a one-shot service (restart: "no")`,
        );
      }
      if (condition === "service_healthy" && isOneShot(target)) {
        problems.push(
          `${name}: waits for one-shot "${dependency}" to be healthy; use service_completed_successfully`,
        );
      }
      const ownProfiles = service.profiles ?? [];
      const targetProfiles = target.profiles ?? [];
      if (targetProfiles.length > 0 && !targetProfiles.some((profile) => ownProfiles.includes(profile))) {
        problems.push(
          `${name}: depends on "${dependency}", which only runs under profiles ${targetProfiles.join(", ")}`,
        );
      }
    }
    for (const [key, value] of Object.entries(environmentOf(service))) {
      const literal = value.replace(/\$\{[^}]*\}|\$\$/g, "").trim();
      if (SECRET_NAME.test(key) && literal !== "")
        problems.push(`${name}: ${key} has an inline value; take it from the environment or .env`);
      if (URL_WITH_PASSWORD.test(value)) problems.push(`${name}: ${key} has a URL with an inline password`);
      if (/SharedAccessKey=/i.test(value)) problems.push(`${name}: ${key} holds an Event Hubs key`);
    }
    for (const port of service.ports ?? []) {
      if (!String(port).startsWith("127.0.0.1:"))
        problems.push(`${name}: port ${port} is published on every interface`);
    }
  }
  if (names.length === 0) problems.push("no services");
  return problems;
}

/** Services built from this repository's Dockerfile (the pipeline's own processes). */
export function appServices(raw: ComposeFile): [string, ComposeService][] {
  return Object.entries(raw.services).filter(([, service]) => service.build !== undefined);
}

export function environment(service: ComposeService): Record<string, string> {
  return environmentOf(service);
}
