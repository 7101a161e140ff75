/**
 * The storage a lake table lives on. Paths are relative to the store's root, "/"-separated, never starting with
 * "/" (e.g. "gold/advertiser_spend/_delta_log/00000000000000000000.json").
 *
 * The one operation a transaction log needs beyond plain reads and writes is `putIfAbsent`: it must be atomic
 * (two concurrent callers for the same path: exactly one gets `true`), because a Delta commit is "create version N
 * if nobody did yet".
 */
export interface ObjectStore {
  /** Where the store points, without secrets (logs, metrics, the exporter's identity). */
  readonly description: string;
  /** The object's bytes, or null when it does not exist. */
  get(path: string): Promise<Uint8Array | null>;
  /** Creates or replaces the object (readers see the old or the new bytes, never a mix). */
  put(path: string, data: Uint8Array): Promise<void>;
  /** Creates the object only if it does not exist; false (and nothing written) when it does. Atomic. */
  putIfAbsent(path: string, data: Uint8Array): Promise<boolean>;
  /** Objects whose path starts with `prefix`, sorted by path. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the object; no error when it does not exist. */
  delete(path: string): Promise<void>;
}

export interface ObjectInfo {
  readonly path: string;
  readonly size: number;
  readonly modifiedMs: number;
}

/** Joins path segments with "/" (no leading or doubled slashes). */
export function joinPath(...parts: readonly string[]): string {
  return parts
    .flatMap((part) => part.split("/"))
    .filter((part) => part !== "")
    .join("/");
}
