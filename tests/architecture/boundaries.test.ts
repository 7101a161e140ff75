/**
 * The layering docs/architecture.md states, checked on the code: packages are libraries and never reach into a
 * service (neither as a dependency nor through an import), workspace imports are declared and built in order,
 * and neither the workspaces nor the modules import each other in a cycle.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { REPO_ROOT } from "../support/paths.js";
import {
  findCycles,
  type ImportEdge,
  importsOf,
  packageOf,
  readWorkspaces,
  resolveImport,
  typeScriptFiles,
} from "./support/imports.js";

const workspaces = readWorkspaces(REPO_ROOT);
const byName = new Map(workspaces.map((workspace) => [workspace.name, workspace]));
const packages = workspaces.filter((workspace) => workspace.kind === "package");
const serviceNames = new Set(workspaces.filter((w) => w.kind === "service").map((w) => w.name));

const importCache = new Map<string, ImportEdge[]>();
function imports(file: string): ImportEdge[] {
  let edges = importCache.get(file);
  if (edges === undefined) {
    edges = importsOf(readFileSync(join(REPO_ROOT, file), "utf8"), file);
    importCache.set(file, edges);
  }
  return edges;
}

/** Production modules of every workspace, the benches, and what they import (type-only imports included). */
const productionFiles = [
  ...workspaces.flatMap((w) => [
    ...typeScriptFiles(REPO_ROOT, `${w.dir}/src`),
    ...typeScriptFiles(REPO_ROOT, `${w.dir}/bench`),
  ]),
  ...typeScriptFiles(REPO_ROOT, "bench"),
];

// Parsing every module takes seconds on a loaded 2-core machine: more than the default 5 s test timeout.
describe("package boundaries", { timeout: 60_000 }, () => {
  test("the scan sees the workspaces and their modules", () => {
    // Guards the checks below against passing on an empty scan.
    expect(packages.map((p) => p.dir)).toEqual(expect.arrayContaining(["packages/core", "packages/cli"]));
    expect(serviceNames).toContain("@adpipe/simulator");
    expect(productionFiles.length).toBeGreaterThan(100);
  });

  test("no package declares a service as a dependency", () => {
    const offending = packages.flatMap((p) =>
      p.dependencies.filter((name) => serviceNames.has(name)).map((name) => `${p.dir} -> ${name}`),
    );
    expect(offending).toEqual([]);
  });

  test("no module of a package (src, test, bench) imports a service", () => {
    const offending: string[] = [];
    for (const p of packages) {
      for (const file of typeScriptFiles(REPO_ROOT, p.dir)) {
        for (const { specifier } of imports(file)) {
          const target = resolveImport(REPO_ROOT, file, specifier, byName);
          const intoService =
            serviceNames.has(packageOf(specifier).name) ||
            target?.startsWith("services/") === true ||
            /(^|\/)services\//.test(specifier);
          if (intoService) offending.push(`${file}: ${specifier}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  test("every workspace import resolves to a source file, is declared and is a tsconfig reference", () => {
    const problems: string[] = [];
    for (const w of workspaces) {
      for (const file of typeScriptFiles(REPO_ROOT, `${w.dir}/src`)) {
        for (const { specifier } of imports(file)) {
          if (!specifier.startsWith("@adpipe/")) continue;
          const { name } = packageOf(specifier);
          const target = byName.get(name);
          if (resolveImport(REPO_ROOT, file, specifier, byName) === undefined)
            problems.push(`${file}: ${specifier} is not an exported entry point`);
          if (name === w.name) problems.push(`${file}: imports its own package by name`);
          else if (!w.dependencies.includes(name))
            problems.push(`${file}: ${name} missing in ${w.dir}/package.json`);
          else if (target !== undefined && !w.references.includes(target.dir))
            problems.push(`${file}: ${target.dir} missing in ${w.dir}/tsconfig.json references`);
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  test("production code never imports a `testing` entry point (test-only code stays out of it)", () => {
    const testingEntries = new Set(
      workspaces.flatMap((w) =>
        [...w.sources].filter(([subpath]) => subpath === "./testing").map(([, file]) => file),
      ),
    );
    expect([...testingEntries]).toEqual(
      expect.arrayContaining(["packages/core/src/testing.ts", "packages/spend-store/src/testing.ts"]),
    );
    const offending: string[] = [];
    for (const w of workspaces) {
      for (const file of typeScriptFiles(REPO_ROOT, `${w.dir}/src`)) {
        if (testingEntries.has(file)) continue;
        for (const { specifier } of imports(file)) {
          const target = resolveImport(REPO_ROOT, file, specifier, byName);
          if (target !== undefined && testingEntries.has(target)) offending.push(`${file}: ${specifier}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  test("workspaces do not depend on each other in a cycle", () => {
    const graph = new Map(
      workspaces.map((w) => [w.name, w.dependencies.filter((name) => byName.has(name))] as const),
    );
    expect(findCycles(graph)).toEqual([]);
  });

  test("no import cycle between modules (packages, services, benches)", () => {
    const graph = new Map<string, string[]>();
    for (const file of productionFiles) {
      const targets = imports(file).map(({ specifier }) => resolveImport(REPO_ROOT, file, specifier, byName));
      graph.set(
        file,
        targets.filter((target): target is string => target !== undefined),
      );
    }
    // The scan resolves relative imports and workspace packages (otherwise it could miss every cycle).
    const edges = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
    expect(edges).toBeGreaterThan(productionFiles.length);
    expect(findCycles(graph)).toEqual([]);
  });
});

describe("the import scanner", () => {
  test("reads static, re-exported, dynamic and type-only imports", () => {
    const edges = importsOf(`
      import { a } from "./a.js";
      import type { B } from "./b.js";
      import { type C, type D } from "./c.js";
      import { type E, f } from "./e.js";
      export { g } from "@adpipe/core";
      export type { H } from "./h.js";
      export * from "./star.js";
      const lazy = await import("./lazy.js");
      type T = import("./t.js").T;
    `);
    expect(edges).toEqual([
      { specifier: "./a.js", typeOnly: false },
      { specifier: "./b.js", typeOnly: true },
      { specifier: "./c.js", typeOnly: true },
      { specifier: "./e.js", typeOnly: false },
      { specifier: "@adpipe/core", typeOnly: false },
      { specifier: "./h.js", typeOnly: true },
      { specifier: "./star.js", typeOnly: false },
      { specifier: "./lazy.js", typeOnly: false },
      { specifier: "./t.js", typeOnly: true },
    ]);
  });

  test("finds cycles, self-imports included, and nothing in a DAG", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a", "d"]],
      ["d", ["e"]],
      ["e", []],
      ["s", ["s"]],
    ]);
    expect(findCycles(graph)).toEqual([["a", "b", "c"], ["s"]]);
    expect(
      findCycles(
        new Map([
          ["a", ["b", "c"]],
          ["b", ["c"]],
          ["c", []],
        ]),
      ),
    ).toEqual([]);
  });

  test("resolves workspace packages through their source export and relative .js to .ts", () => {
    expect(resolveImport(REPO_ROOT, "packages/cli/src/main.ts", "@adpipe/core", byName)).toBe(
      "packages/core/src/index.ts",
    );
    expect(resolveImport(REPO_ROOT, "packages/core/src/index.ts", "./money.js", byName)).toBe(
      "packages/core/src/money.ts",
    );
    expect(resolveImport(REPO_ROOT, "packages/core/src/index.ts", "node:fs", byName)).toBeUndefined();
    expect(packageOf("@adpipe/spend-store/testing")).toEqual({
      name: "@adpipe/spend-store",
      subpath: "./testing",
    });
  });
});
