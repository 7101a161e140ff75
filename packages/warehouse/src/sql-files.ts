import { readdirSync, readFileSync } from "node:fs";
import { WarehouseError } from "./errors.js";

/**
 * SQL lives next to src/ and dist/ (package root `sql/`, not compiled), so the same relative URL works
 * from the TypeScript sources (vitest, tsx) and from the compiled output (node dist/).
 */
const SQL_ROOT = new URL("../sql/", import.meta.url);

export function sqlDirectory(sub: "migrations" | "queries"): URL {
  return new URL(`${sub}/`, SQL_ROOT);
}

export function listSqlFiles(sub: "migrations" | "queries"): string[] {
  return readdirSync(sqlDirectory(sub))
    .filter((name) => name.endsWith(".sql"))
    .sort();
}

/** Reads a SQL file with line endings normalised, so checksums do not depend on the checkout. */
export function readSqlFile(sub: "migrations" | "queries", file: string): string {
  try {
    return readFileSync(new URL(file, sqlDirectory(sub)), "utf8").replace(/\r\n/g, "\n");
  } catch (error) {
    throw new WarehouseError(
      sub === "queries" ? "query_not_found" : "migration_invalid",
      `cannot read sql/${sub}/${file}`,
      { cause: error },
    );
  }
}

/** `-- key: value` lines of the leading comment block. */
export function headerFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("--")) break;
    const match = /^--\s*([a-z_]+):\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined && !fields.has(match[1]))
      fields.set(match[1], match[2]);
  }
  return fields;
}
