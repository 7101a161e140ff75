import { headerFields, withoutComments } from "./header.js";

/** What a named statement's text was found to be, or why it is not usable. */
export type StatementCheck = { readonly paramCount: number } | { readonly problem: string };

/** `$1, $2` for problem messages. */
function placeholders(numbers: readonly number[]): string {
  return numbers.length === 0 ? "none" : numbers.map((n) => `$${n}`).join(", ");
}

function parameterNumbers(text: string): number[] {
  return [...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));
}

/**
 * Checks one named statement: its header names it (`-- name: <name>`) and lists its params (`-- params:` with
 * `$1..$n` in order, or `none`), the statement uses exactly those placeholders (an unused one would leave
 * Postgres unable to type it), and the text holds one statement (a semicolon may only end it).
 */
export function checkStatement(name: string, text: string): StatementCheck {
  const header = headerFields(text);
  if (header.get("name") !== name) return { problem: `header "-- name: ${name}" missing` };
  const params = header.get("params");
  if (params === undefined) return { problem: 'header "-- params:" missing' };

  const declared = [...new Set(parameterNumbers(params))];
  const expected = declared.map((_, index) => index + 1);
  if (declared.some((n, index) => n !== expected[index])) {
    return { problem: `header params must be $1..$n in order, found ${placeholders(declared)}` };
  }
  const body = withoutComments(text);
  const used = [...new Set(parameterNumbers(body))].sort((a, b) => a - b);
  if (used.length !== expected.length || used.some((n, index) => n !== expected[index])) {
    return {
      problem: `header declares ${placeholders(expected)}, statement uses ${placeholders(used)}`,
    };
  }
  const trimmed = body.trim();
  const semicolon = trimmed.indexOf(";");
  if (semicolon !== -1 && semicolon !== trimmed.length - 1) return { problem: "more than one statement" };
  return { paramCount: expected.length };
}
