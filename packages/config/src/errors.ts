import { defineErrors } from "@adpipe/errors";

/** Why configuration was rejected. One code per kind of mistake, so callers can branch on it. */
export const CONFIG_ERROR_CODES = [
  "invalid_env",
  "invalid_connection_string",
  "conflicting_env",
  "unreadable_file",
] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** One bad environment variable. The message never contains the variable's value (it may be a secret). */
export interface ConfigIssue {
  readonly variable: string;
  readonly message: string;
}

/**
 * Bad configuration, raised at start-up. `variable` names the (first) bad environment variable and
 * `issues` lists every one, so a single run tells the operator everything to fix.
 */
export class ConfigError extends defineErrors("ADP_CONFIG", CONFIG_ERROR_CODES) {
  readonly variable: string;
  readonly issues: readonly ConfigIssue[];

  constructor(code: ConfigErrorCode, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const first = issues[0];
    if (first === undefined) throw new TypeError("ConfigError needs at least one issue");
    super(code, ConfigError.describe(issues), options);
    this.variable = first.variable;
    this.issues = issues;
  }

  /** The names of every bad variable, in the order found. */
  get variables(): string[] {
    return [...new Set(this.issues.map((issue) => issue.variable))];
  }

  private static describe(issues: readonly ConfigIssue[]): string {
    if (issues.length === 1) {
      const [only] = issues;
      return `Invalid configuration: ${only?.variable}: ${only?.message}`;
    }
    const lines = issues.map((issue) => `  - ${issue.variable}: ${issue.message}`);
    return `Invalid configuration (${issues.length} problems):\n${lines.join("\n")}`;
  }
}
