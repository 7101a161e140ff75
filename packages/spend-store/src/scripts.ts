import { createLuaRegistry, isNoScriptError, type LuaScript as RegistryScript } from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";
import { SpendStoreError } from "./errors.js";

export { isNoScriptError };

export const SCRIPT_NAMES = [
  "apply_slice",
  "commit_offsets",
  "restore_advertiser",
  "rebuild_lock",
  "reset_offsets",
  "record_detection",
  "drop_sentinel",
  "expire_reservations",
  "set_forecast",
  "set_shape",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export type LuaScript = RegistryScript<ScriptName>;

// lua/ sits at the package root, outside src/ and dist/, so both find it at ../lua.
const registry = createLuaRegistry<ScriptName>({
  dir: new URL("../lua/", import.meta.url),
  names: SCRIPT_NAMES,
  missing: (name, cause) => new SpendStoreError("script_missing", `cannot read lua/${name}.lua`, { cause }),
  mismatch: (name, sha, expected) =>
    new SpendStoreError("redis_reply", `SCRIPT LOAD ${name} returned ${sha}, expected ${expected}`),
});

/** The script's source and SHA1, read once per process from `lua/<name>.lua`. */
export function luaScript(name: ScriptName): LuaScript {
  return registry.script(name);
}

/**
 * Loads every script into Redis' script cache (SCRIPT LOAD) so that batches call them by SHA.
 * Called at start and again when Redis answers NOSCRIPT (it restarted or its cache was flushed).
 */
export async function loadScripts(redis: Redis | Cluster): Promise<void> {
  await registry.load(redis);
}
