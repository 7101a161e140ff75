import { listSqlFiles, readSqlFile } from "@adpipe/sql";
import { WarehouseError } from "./errors.js";

/**
 * Migrations live next to src/ and dist/ (package root `sql/`, not compiled), so the same relative URL works
 * from the TypeScript sources (vitest, tsx) and from the compiled output (node dist/).
 */
const MIGRATIONS = new URL("../sql/migrations/", import.meta.url);

export function listMigrationFiles(): string[] {
  return listSqlFiles(MIGRATIONS);
}

export function readMigrationFile(file: string): string {
  try {
    return readSqlFile(new URL(file, MIGRATIONS));
  } catch (cause) {
    throw new WarehouseError("migration_invalid", `cannot read sql/migrations/${file}`, { cause });
  }
}
