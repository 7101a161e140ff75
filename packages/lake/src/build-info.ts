import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** This package's directory: this file is src/build-info.ts or dist/build-info.js. */
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/** The version in packages/lake/package.json: the writer's version in Parquet footers and Delta commits. */
export const LAKE_VERSION: string = (
  JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as { version: string }
).version;

const COMMIT = /^[0-9a-f]{7,40}$/;

function read(file: string): string {
  return readFileSync(file, "utf8").trim();
}

/** The commit HEAD points to in the git directory `dotGit` (a directory, or a worktree's `gitdir:` file). */
function headCommit(dotGit: string): string | null {
  let gitDir = dotGit;
  if (statSync(dotGit).isFile()) {
    const pointer = /^gitdir:\s*(.+)$/m.exec(read(dotGit))?.[1];
    if (pointer === undefined) return null;
    gitDir = resolve(dirname(dotGit), pointer.trim());
  }
  const head = read(join(gitDir, "HEAD"));
  if (COMMIT.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (ref === undefined) return null;
  const common = existsSync(join(gitDir, "commondir"))
    ? resolve(gitDir, read(join(gitDir, "commondir")))
    : gitDir;
  for (const dir of [gitDir, common]) {
    const file = join(dir, ref);
    if (existsSync(file)) return read(file);
  }
  const packed = join(common, "packed-refs");
  if (!existsSync(packed)) return null;
  const line = read(packed)
    .split("\n")
    .find((entry) => entry.endsWith(` ${ref}`));
  return line?.split(" ")[0] ?? null;
}

/**
 * The build the running code comes from: ADPIPE_BUILD_COMMIT when a deployment sets it (an image has no
 * .git), else the commit of the checkout the package sits in; null when neither is known.
 */
export function buildCommit(env: NodeJS.ProcessEnv = process.env): string | null {
  const fromEnv = env.ADPIPE_BUILD_COMMIT?.trim().toLowerCase();
  if (fromEnv !== undefined && fromEnv !== "") return COMMIT.test(fromEnv) ? fromEnv : null;
  try {
    for (let dir = PACKAGE_DIR, i = 0; i < 6; i++, dir = dirname(dir)) {
      const dotGit = join(dir, ".git");
      if (existsSync(dotGit)) {
        const commit = headCommit(dotGit);
        return commit !== null && COMMIT.test(commit) ? commit : null;
      }
      if (dirname(dir) === dir) break;
    }
  } catch {
    // An unreadable repository is no reason to fail a write: the build is simply unknown.
  }
  return null;
}

/**
 * `created_by` of every Parquet file: `<application> version <semver> (build <commit>)`, the form parquet-mr's
 * VersionParser reads. A file whose created_by it cannot parse has its binary (string, decimal) statistics
 * ignored by Spark and other parquet-mr readers (PARQUET-251), which then cannot skip row groups.
 */
export function parquetCreatedBy(commit: string | null = buildCommit()): string {
  return `adpipe-lake version ${LAKE_VERSION}${commit === null ? "" : ` (build ${commit.slice(0, 12)})`}`;
}
