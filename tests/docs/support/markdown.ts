import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { Command } from "commander";
import GithubSlugger from "github-slugger";
import { Lexer, type Token, type Tokens, walkTokens } from "marked";

/** One Markdown file, lexed once (marked's GitHub-flavoured lexer: tables, fenced code). */
export interface MarkdownFile {
  /** Path relative to the repository root, for messages. */
  readonly name: string;
  readonly path: string;
  readonly tokens: Token[];
}

export function readMarkdown(root: string, name: string): MarkdownFile {
  const path = join(root, name);
  return { name, path, tokens: new Lexer({ gfm: true }).lex(readFileSync(path, "utf8")) };
}

export function parseMarkdown(name: string, path: string, text: string): MarkdownFile {
  return { name, path, tokens: new Lexer({ gfm: true }).lex(text) };
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#\d+|#x[\da-f]+|[a-z]+);/gi, (entity, body: string) => {
    if (body.startsWith("#x") || body.startsWith("#X"))
      return String.fromCodePoint(Number.parseInt(body.slice(2), 16));
    if (body.startsWith("#")) return String.fromCodePoint(Number.parseInt(body.slice(1), 10));
    return ENTITIES[body.toLowerCase()] ?? entity;
  });
}

/** The text a heading renders to (what GitHub builds its id from): code, emphasis and links reduced to their text. */
function plainText(tokens: readonly Token[]): string {
  let text = "";
  for (const token of tokens) {
    if (token.type === "html") continue;
    const children = (token as { tokens?: Token[] }).tokens;
    if (children !== undefined && children.length > 0) text += plainText(children);
    else if (token.type === "text") text += decodeEntities((token as Tokens.Text).text);
    else if ("text" in token && typeof token.text === "string") text += token.text;
  }
  return text;
}

/** The anchors GitHub gives the file's headings (github-slugger: lower case, punctuation dropped, -1/-2 for repeats). */
export function headingAnchors(file: MarkdownFile): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  for (const token of file.tokens) {
    if (token.type === "heading") anchors.add(slugger.slug(plainText((token as Tokens.Heading).tokens)));
  }
  return anchors;
}

/** Every link and image target of the file, as written. */
export function linkTargets(file: MarkdownFile): string[] {
  const targets: string[] = [];
  walkTokens(file.tokens, (token) => {
    if (token.type === "link" || token.type === "image") targets.push((token as Tokens.Link).href);
  });
  return targets;
}

const EXTERNAL = /^(?:[a-z][a-z\d+.-]*:|\/\/)/i;

/**
 * Problems with the file's relative links: a target that does not exist, or an anchor that no heading of the
 * target Markdown file (or of the file itself, for `#anchor`) produces. External URLs are not fetched.
 */
export function linkProblems(file: MarkdownFile, readTarget: (path: string) => MarkdownFile): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(file)) {
    if (EXTERNAL.test(target)) continue;
    const hash = target.indexOf("#");
    const pathPart = decodeURI(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const path = pathPart === "" ? file.path : resolve(dirname(file.path), pathPart);
    if (path !== file.path && !existsSync(path)) {
      problems.push(`${file.name}: link to ${target}: ${pathPart} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!path.endsWith(".md") || (path !== file.path && statSync(path).isDirectory())) {
      problems.push(`${file.name}: link to ${target}: an anchor on a file that is not Markdown`);
      continue;
    }
    const anchors = headingAnchors(path === file.path ? file : readTarget(path));
    if (!anchors.has(anchor)) problems.push(`${file.name}: link to ${target}: no heading #${anchor} there`);
  }
  return problems;
}

/** An `adpipe …` command line written in the docs: the subcommand path and the long options it uses. */
export interface AdpipeMention {
  readonly file: string;
  readonly text: string;
  readonly path: readonly string[];
  readonly options: readonly string[];
}

const ENV_ASSIGNMENT = /^[A-Z_][A-Z\d_]*=(?:'[^']*'|"[^"]*"|\S*)\s+/;

/** The command of one shell segment when it runs adpipe (after `$ `, `VAR=value` assignments and `npx`). */
function mentionIn(file: string, segment: string): AdpipeMention | undefined {
  let rest = segment.trim().replace(/^\$\s+/, "");
  for (let match = ENV_ASSIGNMENT.exec(rest); match !== null; match = ENV_ASSIGNMENT.exec(rest)) {
    rest = rest.slice(match[0].length);
  }
  rest = rest.replace(/^npx\s+/, "");
  if (!/^adpipe(?:\s|$)/.test(rest)) return undefined;
  const words = rest
    .replace(/\s#.*$/, "")
    .split(/\s+/)
    .slice(1);
  const path: string[] = [];
  let index = 0;
  for (; index < words.length; index++) {
    const word = words[index] ?? "";
    if (!/^[a-z][a-z\d-]*$/.test(word)) break;
    path.push(word);
  }
  // `adpipe <command> --help`: a placeholder, not a command.
  if (words[index]?.startsWith("<") === true && path.length === 0) return undefined;
  const options = words
    .slice(index)
    .map((word) => /^\[?(--[a-z][a-z\d-]*)/.exec(word)?.[1])
    .filter((option): option is string => option !== undefined);
  return { file, text: segment.trim(), path, options };
}

/** Every adpipe command written as code (fenced blocks and code spans) in the file. */
export function adpipeMentions(file: MarkdownFile): AdpipeMention[] {
  const mentions: AdpipeMention[] = [];
  walkTokens(file.tokens, (token) => {
    if (token.type !== "code" && token.type !== "codespan") return;
    for (const line of (token as Tokens.Code | Tokens.Codespan).text.split("\n")) {
      for (const segment of line.split(/&&|;|\|\|/)) {
        const mention = mentionIn(file.name, segment);
        if (mention !== undefined) mentions.push(mention);
      }
    }
  });
  return mentions;
}

/**
 * Whether the program has the mentioned command and options: each word of the path names a subcommand while the
 * command has subcommands (later words are its arguments), and each long option belongs to the command found.
 */
export function commandProblems(program: Command, mention: AdpipeMention): string[] {
  let command = program;
  for (const word of mention.path) {
    if (command.commands.length === 0) break;
    const next = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (next === undefined) {
      return [`${mention.file}: \`${mention.text}\`: adpipe has no command "${mention.path.join(" ")}"`];
    }
    command = next;
  }
  const known = new Set([
    "--help",
    ...command.options.map((option) => option.long).filter((long) => long !== undefined),
  ]);
  return mention.options
    .filter((option) => !known.has(option))
    .map(
      (option) => `${mention.file}: \`${mention.text}\`: adpipe ${command.name()} has no option ${option}`,
    );
}

/** Relative name of a path under the root, with forward slashes. */
export function nameUnder(root: string, path: string): string {
  return relative(root, path).split("\\").join("/");
}
