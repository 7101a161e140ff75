import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { luaScript, SCRIPT_NAMES } from "../src/scripts.js";
import { BUDGET_SOURCE_CODES } from "../src/slices.js";

const LUA_DIR = new URL("../lua/", import.meta.url);

describe("lua/ scripts", () => {
  it("every script named in SCRIPT_NAMES exists, and every file is named there", () => {
    const files = readdirSync(LUA_DIR)
      .filter((f) => f.endsWith(".lua"))
      .map((f) => f.replace(/\.lua$/, ""));
    expect(files.sort()).toEqual([...SCRIPT_NAMES].sort());
  });

  it.each(SCRIPT_NAMES)("%s.lua documents KEYS, ARGV and Output in its header", (name) => {
    const text = readFileSync(new URL(`${name}.lua`, LUA_DIR), "utf8");
    const header = /^--\[\[([\s\S]*?)\]\]/.exec(text)?.[1] ?? "";
    expect(header).toMatch(/KEYS\[1\]/);
    expect(header).toMatch(/ARGV/);
    expect(header).toMatch(/Output/);
  });

  it("loads each script once with its SHA1 (what EVALSHA calls)", () => {
    const script = luaScript("apply_slice");
    expect(script.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(luaScript("apply_slice")).toBe(script);
  });

  it("apply_slice maps the packed budget-source codes back as slices.ts writes them", () => {
    const table = /local BUDGET_SOURCES = \{([^}]*)\}/.exec(luaScript("apply_slice").source)?.[1] ?? "";
    const names = [...table.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
    // Lua arrays are 1-based: the code of each source is its position in the table.
    expect(Object.fromEntries(names.map((name, i) => [name, i + 1]))).toEqual({ ...BUDGET_SOURCE_CODES });
  });

  it("never adds money with INCRBYFLOAT", () => {
    for (const name of SCRIPT_NAMES) {
      const code = luaScript(name)
        .source.replace(/--\[\[[\s\S]*?\]\]/g, "")
        .replace(/--[^\n]*/g, "");
      expect(code).toMatch(/redis\.call/);
      expect(code).not.toMatch(/INCRBYFLOAT/i);
    }
  });
});
