import { ApiError } from "./errors.js";

/**
 * Deepest nesting of arrays and objects a request body may have. Click items and every other body are
 * flat or nearly so; a deeper body is refused before JSON.parse, so nothing recursive (validation,
 * JSON.stringify of a click) ever meets 5,000 nested arrays (which overflowed the stack: a 500).
 */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;

/** True when `text` opens more than `max` arrays/objects inside each other (brackets in strings do not count). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++;
      if (depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return false;
}

export type JsonPath = (string | number)[];

/**
 * Path of the first key that prototype pollution uses (`__proto__`, or `constructor` holding `prototype`),
 * or null. JSON.parse keeps such keys as plain own properties; refusing them here means no later merge or
 * copy of a body can ever turn one into a prototype.
 */
export function forbiddenKeyPath(value: unknown): JsonPath | null {
  interface Node {
    readonly value: object;
    readonly parent: Node | null;
    readonly key: string | number;
  }
  const pathOf = (node: Node, ...tail: JsonPath): JsonPath => {
    const path: JsonPath = tail;
    for (let at: Node | null = node; at?.parent != null; at = at.parent) path.unshift(at.key);
    return path;
  };
  if (typeof value !== "object" || value === null) return null;
  // Only containers are visited (a million numbers in an array cost nothing); paths are built on a hit only.
  const stack: Node[] = [{ value, parent: null, key: "" }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node.value)) {
      const items = node.value as unknown[];
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i];
        if (typeof item === "object" && item !== null) stack.push({ value: item, parent: node, key: i });
      }
      continue;
    }
    const record = node.value as Record<string, unknown>;
    const keys = Object.keys(record);
    for (const key of keys) {
      if (key === "__proto__") return pathOf(node, key);
      const inner = record[key];
      if (key === "constructor" && typeof inner === "object" && inner !== null && "prototype" in inner)
        return pathOf(node, key, "prototype");
    }
    for (let k = keys.length - 1; k >= 0; k--) {
      const key = keys[k]!;
      const inner = record[key];
      if (typeof inner === "object" && inner !== null) stack.push({ value: inner, parent: node, key });
    }
  }
  return null;
}

/**
 * The API's application/json parser: depth first (cheap, before any parsing), then JSON.parse, then the
 * forbidden keys. Every refusal is a 400 in the documented error shape with the body path it concerns.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) {
    throw new ApiError("bad_request", "request body is empty but content-type is application/json", {
      details: [{ in: "body", path: [], message: "empty" }],
    });
  }
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new ApiError(
      "bad_request",
      `request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`,
      {
        details: [{ in: "body", path: [], message: "too_deep" }],
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // V8's message quotes the body: never echoed.
    throw new ApiError("bad_request", "request body is not valid JSON", {
      details: [{ in: "body", path: [], message: "invalid_json" }],
    });
  }
  const forbidden = forbiddenKeyPath(value);
  if (forbidden !== null) {
    throw new ApiError(
      "bad_request",
      "request body contains a forbidden key (__proto__ or constructor.prototype)",
      {
        details: [{ in: "body", path: forbidden, message: "forbidden_key" }],
      },
    );
  }
  return value;
}
