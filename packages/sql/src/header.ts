/**
 * The leading comment block of a SQL file, read as `-- key: value` fields. A line indented further than the
 * key line (`--   more text`) continues the previous field, so a long `params:` list can wrap:
 *
 *   -- name: audit_insert
 *   -- Free text describing the statement.
 *   -- params: $1 advertiser_id text, $2 action text,
 *   --         $3 old_budget_micros bigint|null
 */
export function headerFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let continuing: string | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith("--")) break;
    const field = /^--\s?([a-z_]+):\s*(.*?)\s*$/.exec(line);
    if (field?.[1] !== undefined && field[2] !== undefined) {
      continuing = fields.has(field[1]) ? undefined : field[1];
      if (continuing !== undefined) fields.set(continuing, field[2]);
      continue;
    }
    const continuation = /^--\s{2,}(\S.*?)\s*$/.exec(line);
    if (continuing !== undefined && continuation?.[1] !== undefined) {
      fields.set(continuing, `${fields.get(continuing)} ${continuation[1]}`);
      continue;
    }
    continuing = undefined;
  }
  return fields;
}

/** The statement without its comments (`--` to the end of the line). */
export function withoutComments(text: string): string {
  return text.replace(/--[^\n]*/g, "");
}
