/** A package-local code as the error carries it: `ADP_WAREHOUSE` + `query_invalid` → `ADP_WAREHOUSE_QUERY_INVALID`. */
export type PrefixedCode<P extends string, C extends string> = `${P}_${Uppercase<C>}`;

export interface DefinedErrorOptions {
  readonly cause?: unknown;
}

/**
 * The base class of one package's errors. The package names its codes once, as a `const` tuple; the class
 * takes a code of that tuple and carries it prefixed, so codes of different packages (`invalid_options`,
 * `rebuild_failed`) never collide where errors meet (logs, a CLI, a service wrapping a library's error).
 *
 *   export const WAREHOUSE_ERROR_CODES = ["query_invalid", "batch_invalid"] as const;
 *   export class WarehouseError extends defineErrors("ADP_WAREHOUSE", WAREHOUSE_ERROR_CODES) {}
 *   new WarehouseError("query_invalid", "...", { cause }).code === "ADP_WAREHOUSE_QUERY_INVALID"
 *
 * `name` is the subclass's name. Subclasses may add fields and their own constructor.
 */
export function defineErrors<const P extends string, const C extends string>(prefix: P, codes: readonly C[]) {
  if (!/^[A-Z][A-Z0-9_]*$/.test(prefix))
    throw new TypeError(`error prefix ${prefix} must be UPPER_SNAKE_CASE`);
  const prefixed = new Map<string, PrefixedCode<P, C>>();
  for (const code of codes) {
    if (!/^[a-z][a-z0-9_]*$/.test(code)) throw new TypeError(`error code ${code} must be lower_snake_case`);
    prefixed.set(code, `${prefix}_${code.toUpperCase()}` as PrefixedCode<P, C>);
  }

  return class DefinedError extends Error {
    /** Every code an error of this class can carry, prefixed. */
    static readonly codes: readonly PrefixedCode<P, C>[] = [...prefixed.values()];
    readonly code: PrefixedCode<P, C>;

    constructor(code: C, message: string, options?: DefinedErrorOptions) {
      super(message, options);
      const full = prefixed.get(code);
      if (full === undefined) throw new TypeError(`${code} is not an error code of ${prefix}`);
      this.name = new.target.name;
      this.code = full;
    }
  };
}
