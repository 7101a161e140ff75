import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildProgram, commands } from "@adpipe/cli";
import { describe, expect, test } from "vitest";
import { REPO_ROOT } from "../support/paths.js";
import {
  adpipeMentions,
  commandProblems,
  headingAnchors,
  linkProblems,
  linkTargets,
  type MarkdownFile,
  nameUnder,
  parseMarkdown,
  readMarkdown,
} from "./support/markdown.js";

const DOCS = readdirSync(join(REPO_ROOT, "docs"))
  .filter((name) => name.endsWith(".md"))
  .map((name) => `docs/${name}`);
const FILES = ["README.md", "CHANGELOG.md", ...DOCS];

const cache = new Map<string, MarkdownFile>();
function markdown(path: string): MarkdownFile {
  let file = cache.get(path);
  if (file === undefined) {
    file = readMarkdown(REPO_ROOT, nameUnder(REPO_ROOT, path));
    cache.set(path, file);
  }
  return file;
}
const byName = (name: string) => markdown(join(REPO_ROOT, name));

describe("README.md and docs/*.md", () => {
  test.each(FILES)("every relative link and anchor of %s resolves", (name) => {
    expect(linkProblems(byName(name), markdown)).toEqual([]);
  });

  test("the README links to every docs page", () => {
    const targets = new Set(linkTargets(byName("README.md")).map((target) => target.split("#")[0]));
    expect(DOCS.filter((page) => !targets.has(page))).toEqual([]);
  });

  test("every adpipe command and option written in them exists in the CLI", () => {
    const program = buildProgram(commands);
    const mentions = FILES.flatMap((name) => adpipeMentions(byName(name)));
    const readme = mentions.filter((mention) => mention.file === "README.md").map((m) => m.path.join(" "));
    // The README's walkthrough names these; the check below must have seen them (the extractor works).
    expect(readme).toEqual(expect.arrayContaining(["status", ""]));
    expect(mentions.flatMap((mention) => commandProblems(program, mention))).toEqual([]);
  });

  test("the README is a landing page: at most 250 lines, the two commands, every package and service listed", () => {
    const text = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    expect(text.split("\n").length).toBeLessThanOrEqual(250);
    expect(text).toContain("npm ci && npm start");
    expect(text).toMatch(/^npm test\b/m);
    const layout = text.slice(text.indexOf("## Layout"));
    const folders = ["packages", "services"].flatMap((parent) =>
      readdirSync(join(REPO_ROOT, parent), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${parent}/${entry.name}`),
    );
    expect(folders.length).toBeGreaterThanOrEqual(15);
    expect(folders.filter((folder) => !layout.includes(`| \`${folder}\``))).toEqual([]);
  });
});

describe("the checker itself", () => {
  const page = (text: string) => parseMarkdown("docs/fake.md", join(REPO_ROOT, "docs/fake.md"), text);

  test("reports a missing file, a missing anchor and an anchor on a non-Markdown file", () => {
    const file = page(
      [
        "# Fake",
        "[ok](api.md#security) [ok](#fake) [ok](https://example.com/x#y) [ok](../README.md#layout)",
        "[gone](nowhere.md) [bad anchor](api.md#no-such-heading) [bad self](#nope) [json](../package.json#x)",
      ].join("\n"),
    );
    expect(linkProblems(file, markdown)).toEqual([
      "docs/fake.md: link to nowhere.md: nowhere.md does not exist",
      "docs/fake.md: link to api.md#no-such-heading: no heading #no-such-heading there",
      "docs/fake.md: link to #nope: no heading #nope there",
      "docs/fake.md: link to ../package.json#x: an anchor on a file that is not Markdown",
    ]);
  });

  test("builds anchors as GitHub does: code, punctuation, entities and repeated headings", () => {
    const anchors = headingAnchors(
      page("# `@adpipe/config`\n## A &amp; B: c_d\n## Same\n## Same\n```\n# not a heading\n```"),
    );
    expect([...anchors]).toEqual(["adpipeconfig", "a--b-c_d", "same", "same-1"]);
  });

  test("finds adpipe commands in code and reports unknown commands and options", () => {
    const file = page(
      [
        "Run `adpipe status --json` or `npx adpipe migrate [--status]`; `adpipe <command> --help` is a placeholder.",
        "```bash",
        "DATABASE_URL='postgres://x' npx adpipe reprocess --from 2026-01-01 --to 2026-01-02   # comment --nope",
        "kubectl -n adpipe get pods && adpipe frobnicate --now",
        "adpipe status --max-lag 10 --no-such-flag",
        "```",
      ].join("\n"),
    );
    const mentions = adpipeMentions(file);
    expect(mentions.map((m) => [m.path.join(" "), m.options.join(" ")])).toEqual([
      ["status", "--json"],
      ["migrate", "--status"],
      ["reprocess", "--from --to"],
      ["frobnicate", "--now"],
      ["status", "--max-lag --no-such-flag"],
    ]);
    const program = buildProgram(commands);
    expect(mentions.flatMap((mention) => commandProblems(program, mention))).toEqual([
      'docs/fake.md: `adpipe frobnicate --now`: adpipe has no command "frobnicate"',
      "docs/fake.md: `adpipe status --max-lag 10 --no-such-flag`: adpipe status has no option --no-such-flag",
    ]);
  });
});
