import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** One npm workspace (packages/* or services/*). */
export interface Workspace {
  /** Folder relative to the repository root, e.g. "packages/core". */
  readonly dir: string;
  readonly name: string;
  readonly kind: "package" | "service";
  /** dependencies, devDependencies and peerDependencies. */
  readonly dependencies: readonly string[];
  /** "exports" subpath ("." or "./testing") → file its "source" condition names, relative to the root. */
  readonly sources: ReadonlyMap<string, string>;
  /** tsconfig.json "references", as workspace folders relative to the root. */
  readonly references: readonly string[];
}

/** One import or re-export of a module. */
export interface ImportEdge {
  readonly specifier: string;
  /** `import type`, `export type`, or only type specifiers: gone at run time. */
  readonly typeOnly: boolean;
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

function sourceOf(target: unknown): string | undefined {
  if (typeof target !== "object" || target === null) return undefined;
  const source = (target as Record<string, unknown>).source;
  return typeof source === "string" ? source : undefined;
}

export function readWorkspaces(root: string): Workspace[] {
  const out: Workspace[] = [];
  for (const parent of ["packages", "services"] as const) {
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
      const dir = `${parent}/${entry.name}`;
      if (!entry.isDirectory() || !existsSync(join(root, dir, "package.json"))) continue;
      const manifest = readJson(join(root, dir, "package.json"));
      const dependencies = ["dependencies", "devDependencies", "peerDependencies"].flatMap((field) =>
        Object.keys((manifest[field] as Record<string, string> | undefined) ?? {}),
      );
      const sources = new Map<string, string>();
      const exports = manifest.exports as Record<string, unknown> | undefined;
      for (const [subpath, target] of Object.entries(exports ?? {})) {
        const source = sourceOf(target);
        if (source !== undefined) sources.set(subpath, join(dir, source));
      }
      const tsconfigPath = join(root, dir, "tsconfig.json");
      const references = existsSync(tsconfigPath)
        ? (
            (ts.readConfigFile(tsconfigPath, ts.sys.readFile).config?.references ?? []) as { path: string }[]
          ).map((reference) =>
            relative(root, resolve(root, dir, reference.path))
              .split(sep)
              .join("/"),
          )
        : [];
      out.push({
        dir,
        name: String(manifest.name),
        kind: parent === "packages" ? "package" : "service",
        dependencies,
        sources,
        references,
      });
    }
  }
  return out;
}

/** Every .ts file under `dir` (relative to the root), declaration files and node_modules/dist excluded. */
export function typeScriptFiles(root: string, dir: string): string[] {
  const absolute = join(root, dir);
  if (!existsSync(absolute)) return [];
  const out: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== "dist") walk(child);
      } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        out.push(relative(root, child).split(sep).join("/"));
      }
    }
  };
  walk(absolute);
  return out.sort();
}

/** Static imports, re-exports and `import("...")` calls of a TypeScript module, with their type-only flag. */
export function importsOf(text: string, fileName = "module.ts"): ImportEdge[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            bindings !== undefined &&
            ts.isNamedImports(bindings) &&
            bindings.elements.length > 0 &&
            bindings.elements.every((element) => element.isTypeOnly)));
      edges.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const clause = node.exportClause;
      const typeOnly =
        node.isTypeOnly ||
        (clause !== undefined &&
          ts.isNamedExports(clause) &&
          clause.elements.length > 0 &&
          clause.elements.every((element) => element.isTypeOnly));
      edges.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      edges.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      if (ts.isLiteralTypeNode(argument) && ts.isStringLiteral(argument.literal)) {
        edges.push({ specifier: argument.literal.text, typeOnly: true });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return edges;
}

/** `@adpipe/x` or `@adpipe/x/sub` → ["@adpipe/x", "./sub"]; other bare specifiers → the package name. */
export function packageOf(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split("/");
  const count = specifier.startsWith("@") ? 2 : 1;
  const rest = parts.slice(count);
  return { name: parts.slice(0, count).join("/"), subpath: rest.length === 0 ? "." : `./${rest.join("/")}` };
}

/**
 * The file a specifier of `from` resolves to, relative to the root: relative paths (`./x.js` → `./x.ts`) and
 * workspace packages through their "source" export condition. undefined for node: built-ins and npm packages.
 */
export function resolveImport(
  root: string,
  from: string,
  specifier: string,
  byName: ReadonlyMap<string, Workspace>,
): string | undefined {
  if (specifier.startsWith(".")) {
    const target = join(dirname(from), specifier);
    const candidates = [target, target.replace(/\.js$/, ".ts"), `${target}.ts`, join(target, "index.ts")];
    for (const candidate of candidates) {
      const path = join(root, candidate);
      if (existsSync(path) && statSync(path).isFile()) return candidate.split(sep).join("/");
    }
    return undefined;
  }
  const { name, subpath } = packageOf(specifier);
  return byName.get(name)?.sources.get(subpath);
}

/** Strongly connected components with more than one module (or a module importing itself): the cycles. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);
  return cycles.sort((a, b) => ((a[0] ?? "") < (b[0] ?? "") ? -1 : 1));
}
