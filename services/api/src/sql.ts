import { readFileSync } from "node:fs";

/**
 * Named queries live one statement per file in `services/api/sql/queries/` (package root, not compiled),
 * so the same relative URL works from src/ (tests) and dist/ (node).
 */
const QUERIES_DIR = new URL("../sql/queries/", import.meta.url);

const cache = new Map<string, string>();

export function namedQuery(name: string): string {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`invalid query name ${name}`);
  const text = readFileSync(new URL(`${name}.sql`, QUERIES_DIR), "utf8");
  cache.set(name, text);
  return text;
}
