import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Cluster, Redis } from "ioredis";
import { SpendStoreError } from "./errors.js";

export const SCRIPT_NAMES = [
  "apply_slice",
  "commit_offsets",
  "restore_advertiser",
  "rebuild_lock",
  "reset_offsets",
  "record_detection",
  "drop_sentinel",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface LuaScript {
  readonly name: ScriptName;
  readonly source: string;
  readonly sha: string;
}

// lua/ sits at the package root, outside src/ and dist/, so both find it at ../lua.
const LUA_DIR = new URL("../lua/", import.meta.url);

const cache = new Map<ScriptName, LuaScript>();

/** The script's source and SHA1, read once per process from `lua/<name>.lua`. */
export function luaScript(name: ScriptName): LuaScript {
  const known = cache.get(name);
  if (known !== undefined) return known;
  let source: string;
  try {
    source = readFileSync(new URL(`${name}.lua`, LUA_DIR), "utf8");
  } catch (cause) {
    throw new SpendStoreError("script_missing", `cannot read lua/${name}.lua`, { cause });
  }
  const script = { name, source, sha: createHash("sha1").update(source).digest("hex") };
  cache.set(name, script);
  return script;
}

/**
 * Loads every script into Redis' script cache (SCRIPT LOAD) so that batches call them by SHA.
 * Called at start and again when Redis answers NOSCRIPT (it restarted or its cache was flushed).
 */
export async function loadScripts(redis: Redis | Cluster): Promise<void> {
  for (const name of SCRIPT_NAMES) {
    const script = luaScript(name);
    const sha = await loadOne(redis, script.source);
    if (sha !== script.sha) {
      throw new SpendStoreError("redis_reply", `SCRIPT LOAD ${name} returned ${sha}, expected ${script.sha}`);
    }
  }
}

async function loadOne(redis: Redis | Cluster, source: string): Promise<string> {
  // On a cluster every master needs the script; ioredis sends SCRIPT LOAD to all nodes when asked.
  if ("nodes" in redis && typeof redis.nodes === "function") {
    const masters = redis.nodes("master");
    const shas = await Promise.all(masters.map((node) => node.script("LOAD", source) as Promise<string>));
    return shas[0] ?? "";
  }
  return (await redis.script("LOAD", source)) as string;
}

export function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.includes("NOSCRIPT");
}
