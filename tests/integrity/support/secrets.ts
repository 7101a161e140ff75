import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LOG_DIR } from "./children.js";

/**
 * Every secret the suite hands to a service (connection strings, passwords, API tokens, the tokens it sends
 * on purpose). The security scenario scans the logs of every child process of the run for each of them.
 */
const secrets = new Map<string, string>();

export function registerSecret(what: string, value: string): string {
  if (value.length < 8) throw new Error(`secret "${what}" is too short to scan for reliably`);
  secrets.set(value, what);
  return value;
}

export function registeredSecrets(): { what: string; value: string }[] {
  return [...secrets].map(([value, what]) => ({ what, value }));
}

export interface SecretFinding {
  readonly file: string;
  readonly what: string;
  readonly line: number;
}

/** Scans every log file of this run; returns where a registered secret appears (the value itself is not returned). */
export function scanLogsForSecrets(dir: string = LOG_DIR): {
  files: number;
  bytes: number;
  findings: SecretFinding[];
} {
  let files = 0;
  let bytes = 0;
  const findings: SecretFinding[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return { files, bytes, findings };
  }
  for (const name of names) {
    const file = join(dir, name);
    const text = readFileSync(file, "utf8");
    files += 1;
    bytes += Buffer.byteLength(text);
    const lines = text.split("\n");
    for (const [value, what] of secrets) {
      // URL-encoded forms too: a logger printing a URL object would encode them.
      const forms = new Set([value, encodeURIComponent(value)]);
      lines.forEach((line, index) => {
        for (const form of forms)
          if (line.includes(form)) findings.push({ file: name, what, line: index + 1 });
      });
    }
  }
  return { files, bytes, findings };
}
