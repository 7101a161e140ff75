import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Cluster, Redis } from "ioredis";
import { isRedisCluster } from "./connect.js";

export interface LuaScript<Name extends string = string> {
  readonly name: Name;
  readonly source: string;
  /** SHA1 of the source: what EVALSHA calls. */
  readonly sha: string;
}

/** The Lua scripts of one package: files `<dir>/<name>.lua`, read once per process, loaded by SHA. */
export interface LuaRegistry<Name extends string> {
  readonly names: readonly Name[];
  script(name: Name): LuaScript<Name>;
  /**
   * SCRIPT LOAD of every script (on a Redis Cluster into every master), so that calls go by SHA. Called at start
   * and again when Redis answers NOSCRIPT (it restarted or its script cache was flushed).
   */
  load(redis: Redis | Cluster): Promise<void>;
}

export interface LuaRegistryOptions<Name extends string> {
  /** Directory of the `.lua` files (a file: URL ending in `/`). */
  readonly dir: URL;
  readonly names: readonly Name[];
  /** The package's error for a script file that cannot be read. */
  readonly missing: (name: Name, cause: unknown) => Error;
  /** The package's error for Redis answering SCRIPT LOAD with another SHA. */
  readonly mismatch: (name: Name, sha: string, expected: string) => Error;
}

/**
 * THE Lua script registry: every package keeps its scripts as files beside its sources (a header with KEYS,
 * ARGV and Output, like BullMQ's) and loads them through one of these.
 */
export function createLuaRegistry<Name extends string>(options: LuaRegistryOptions<Name>): LuaRegistry<Name> {
  const cache = new Map<Name, LuaScript<Name>>();
  const script = (name: Name): LuaScript<Name> => {
    const known = cache.get(name);
    if (known !== undefined) return known;
    let source: string;
    try {
      source = readFileSync(new URL(`${name}.lua`, options.dir), "utf8");
    } catch (cause) {
      throw options.missing(name, cause);
    }
    const loaded = { name, source, sha: createHash("sha1").update(source).digest("hex") };
    cache.set(name, loaded);
    return loaded;
  };
  return {
    names: options.names,
    script,
    async load(redis) {
      for (const name of options.names) {
        const { source, sha } = script(name);
        const loaded = await loadOne(redis, source);
        if (loaded !== sha) throw options.mismatch(name, loaded, sha);
      }
    },
  };
}

async function loadOne(redis: Redis | Cluster, source: string): Promise<string> {
  // On a cluster every master needs the script.
  if (isRedisCluster(redis)) {
    const shas = await Promise.all(
      redis.nodes("master").map((node) => node.script("LOAD", source) as Promise<string>),
    );
    return shas[0] ?? "";
  }
  return (await redis.script("LOAD", source)) as string;
}

export function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.includes("NOSCRIPT");
}
