import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * The Postgres server log (Debian: /var/log/postgresql/postgresql-<version>-main.log; INTEGRITY_PG_LOG
 * overrides). Its line prefix names user@database, so the lines of the suite's own databases can be picked out
 * of a log the whole machine shares.
 */
export function postgresLogFile(): string {
  const configured = process.env.INTEGRITY_PG_LOG;
  if (configured !== undefined && configured !== "") return configured;
  const dir = "/var/log/postgresql";
  let candidates: string[] = [];
  try {
    candidates = readdirSync(dir)
      .filter((name) => /^postgresql-.*\.log$/.test(name))
      .map((name) => join(dir, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  } catch {
    // handled below
  }
  const newest = candidates[0];
  if (newest === undefined)
    throw new Error("no Postgres server log found in /var/log/postgresql: set INTEGRITY_PG_LOG to its path");
  return newest;
}

/** Where the log ends now: read from here later to get only what was logged in between. */
export function logPosition(file: string): number {
  return statSync(file).size;
}

/** The text appended to `file` since `position` (a rotated, smaller file is read from its start). */
export function readLogSince(file: string, position: number): string {
  const size = statSync(file).size;
  const from = size < position ? 0 : position;
  const length = size - from;
  if (length <= 0) return "";
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buffer, 0, length, from);
  } finally {
    closeSync(fd);
  }
  return buffer.toString("utf8");
}

export interface LoggedError {
  readonly line: string;
  /** The STATEMENT line Postgres logs after the error (log_min_error_statement), when there is one. */
  readonly statement: string | null;
}

/** ERROR lines (with their STATEMENT line) logged in databases whose name passes `database`. */
export function errorsFor(text: string, database: (name: string) => boolean): LoggedError[] {
  const lines = text.split("\n");
  const errors: LoggedError[] = [];
  lines.forEach((line, i) => {
    const match = / \S*@(\S+) ERROR: /.exec(line);
    if (match === null || !database(match[1] ?? "")) return;
    const next = lines[i + 1] ?? "";
    errors.push({ line, statement: next.includes(" STATEMENT: ") ? next : null });
  });
  return errors;
}
