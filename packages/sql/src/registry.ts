import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { QueryErrorClass } from "./errors.js";
import { checkStatement } from "./statement.js";

/** A named statement, loaded and checked. */
export interface NamedQuery<N extends string = string> {
  readonly name: N;
  readonly text: string;
  readonly paramCount: number;
}

/** A pg QueryConfig: `name` makes pg prepare the statement once per connection. */
export interface PreparedQuery {
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
}

export interface QueryRegistry<N extends string> {
  readonly names: readonly N[];
  /** The statement `<name>`, read and checked on first use, then cached. */
  query(name: N): NamedQuery<N>;
  /** The statement's text, for `pool.query(text, values)`. */
  text(name: N): string;
  /** A QueryConfig prepared under `<statementPrefix><name>`; throws when the values do not match its params. */
  prepared(name: N, values: readonly unknown[]): PreparedQuery;
  /** Loads every statement and checks that the directory holds no `.sql` file the names leave out. */
  checkAll(): NamedQuery<N>[];
}

export interface QueryRegistryOptions<N extends string> {
  /** Prefix of prepared statement names, one per package so two packages never share one. Default `adpipe_`. */
  readonly statementPrefix?: string;
  /** Statements built in code from definitions (plan builders) instead of read from a file; checked alike. */
  readonly built?: Readonly<Partial<Record<N, string>>>;
}

/** Reads a SQL file with line endings normalised, so checksums and checks do not depend on the checkout. */
export function readSqlFile(file: URL): string {
  return readFileSync(file, "utf8").replace(/\r\n/g, "\n");
}

/** The `.sql` file names of a directory, sorted. */
export function listSqlFiles(directory: URL): string[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith(".sql"))
    .sort();
}

/**
 * The named statements of one package: `<directory>/<name>.sql` each (or built in code), every one with a header
 * naming it and documenting its `$n` parameters, which is checked against the statement when it is loaded.
 * `directory` sits at the package root (not compiled), so src/ and dist/ find it at the same relative URL.
 */
export function createQueryRegistry<const N extends string>(
  directory: URL,
  names: readonly N[],
  ErrorClass: QueryErrorClass,
  options: QueryRegistryOptions<N> = {},
): QueryRegistry<N> {
  const known = new Set<string>(names);
  const built: Readonly<Partial<Record<N, string>>> = options.built ?? ({} as Partial<Record<N, string>>);
  const statementPrefix = options.statementPrefix ?? "adpipe_";
  const cache = new Map<N, NamedQuery<N>>();
  const where = (name: string) => fileURLToPath(new URL(`${name}.sql`, directory));

  function source(name: N): string {
    const text = built[name];
    if (text !== undefined) return text;
    if (!known.has(name)) {
      throw new ErrorClass(
        "query_not_found",
        `cannot read ${where(name)}: ${name} is not a registered query`,
      );
    }
    try {
      return readSqlFile(new URL(`${name}.sql`, directory));
    } catch (cause) {
      throw new ErrorClass("query_not_found", `cannot read ${where(name)}`, { cause });
    }
  }

  function query(name: N): NamedQuery<N> {
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const text = source(name);
    const check = checkStatement(name, text);
    if ("problem" in check) {
      const origin = built[name] === undefined ? where(name) : `built query ${name}`;
      throw new ErrorClass("query_invalid", `${origin}: ${check.problem}`);
    }
    const loaded = { name, text, paramCount: check.paramCount };
    cache.set(name, loaded);
    return loaded;
  }

  return {
    names,
    query,
    text: (name) => query(name).text,
    prepared(name, values) {
      const { text, paramCount } = query(name);
      if (values.length !== paramCount) {
        throw new ErrorClass(
          "query_invalid",
          `query ${name} takes ${paramCount} params, got ${values.length}`,
        );
      }
      return { name: `${statementPrefix}${name}`, text, values: [...values] };
    },
    checkAll() {
      const files = new Set(names.filter((name) => built[name] === undefined).map((name) => `${name}.sql`));
      const unlisted = listSqlFiles(directory).filter((file) => !files.has(file));
      if (unlisted.length > 0) {
        throw new ErrorClass(
          "query_invalid",
          `${fileURLToPath(directory)}: ${unlisted.join(", ")} not among the registered queries`,
        );
      }
      return names.map(query);
    },
  };
}
