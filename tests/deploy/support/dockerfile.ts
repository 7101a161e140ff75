/**
 * A small reader of Dockerfile instructions (line continuations, comments, heredocs), enough for the
 * project's checks on the image: stages, base images, user, install commands and the entrypoint's commands.
 */

export interface Instruction {
  keyword: string;
  args: string;
  /** Heredoc bodies attached to this instruction (COPY <<EOF ... EOF). */
  heredocs: string[];
}

export interface Stage {
  name: string | undefined;
  /** The image after ARG defaults are substituted, e.g. node:24-alpine. */
  from: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text.split("\n");
  const instructions: Instruction[] = [];
  let index = 0;
  while (index < lines.length) {
    let line = lines[index] ?? "";
    index++;
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    while (line.endsWith("\\") && index < lines.length) {
      const next = lines[index] ?? "";
      index++;
      if (next.trimStart().startsWith("#")) continue;
      line = `${line.slice(0, -1)} ${next.trim()}`;
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    const keyword = (match[1] ?? "").toUpperCase();
    const args = (match[2] ?? "").trim();
    const heredocs: string[] = [];
    for (const marker of args.matchAll(/<<-?'?"?([A-Za-z_][A-Za-z0-9_]*)'?"?/g)) {
      const end = marker[1];
      const body: string[] = [];
      while (index < lines.length && (lines[index] ?? "").trim() !== end) {
        body.push(lines[index] ?? "");
        index++;
      }
      index++;
      heredocs.push(body.join("\n"));
    }
    instructions.push({ keyword, args, heredocs });
  }

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "ARG" && stages.length === 0) {
      const [name, value] = instruction.args.split("=", 2);
      if (name !== undefined && value !== undefined) globalArgs[name.trim()] = value.trim();
      continue;
    }
    if (instruction.keyword === "FROM") {
      const [image = "", as, name] = instruction.args.replace(/--platform=\S+\s+/, "").split(/\s+/);
      const from = image.replace(
        /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
        (_, arg: string) => globalArgs[arg] ?? "",
      );
      stages.push({ name: as?.toUpperCase() === "AS" ? name : undefined, from, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push(instruction);
  }
  return { args: globalArgs, stages };
}

/** The first words an entrypoint script's `case` accepts, e.g. ["ingestor", "api", ...]. */
export function entrypointCommands(script: string): string[] {
  const words: string[] = [];
  for (const match of script.matchAll(/^\s*([a-z][a-z0-9|-]*)\)\s*$/gm)) {
    words.push(...(match[1] ?? "").split("|"));
  }
  return words;
}
