import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "./processes.js";

/**
 * The state directory of a private cluster started by this process: `<home>/<prefix>-<pid>-<basePort>`, so the
 * next run can tell (sweepOrphanedDirs) that its owner is gone and stop what it left running.
 */
export function ownedStateDir(home: string, prefix: string, basePort: number): string {
  const dir = join(home, `${prefix}-${process.pid}-${basePort}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Private clusters of runs that were killed before they could stop them: for each ownedStateDir whose owner pid
 * is gone, `stop(basePort, dir)` (failures ignored), then the directory is deleted.
 */
export async function sweepOrphanedDirs(
  home: string,
  prefix: string,
  stop: (basePort: number, dir: string) => Promise<unknown>,
): Promise<void> {
  if (!existsSync(home)) return;
  const pattern = new RegExp(`^${prefix}-(\\d+)-(\\d+)$`);
  for (const name of readdirSync(home)) {
    const match = pattern.exec(name);
    if (match === null || processAlive(Number(match[1]))) continue;
    const dir = join(home, name);
    await stop(Number(match[2]), dir).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
