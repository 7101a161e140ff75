import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository root: this file is services/supervisor/{src,dist}/paths.{ts,js}. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** True when the supervisor itself runs from TypeScript sources (tsx), so children should too. */
export const RUNNING_FROM_SOURCE = import.meta.url.endsWith(".ts");

export const SERVICE_NAMES = ["ingestor", "budget-tracker", "api", "alerter", "simulator"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export type RunMode = "dist" | "source";

/** Node arguments that run a service: its compiled main, or its TypeScript main through tsx. */
export function serviceEntry(name: ServiceName, mode: RunMode): string[] {
  if (mode === "source")
    return ["--conditions", "source", "--import", "tsx", `${REPO_ROOT}services/${name}/src/main.ts`];
  return [`${REPO_ROOT}services/${name}/dist/main.js`];
}

/** The entry file a mode needs (to report "run npm run build first"). */
export function serviceEntryFile(name: ServiceName, mode: RunMode): string {
  return mode === "source"
    ? `${REPO_ROOT}services/${name}/src/main.ts`
    : `${REPO_ROOT}services/${name}/dist/main.js`;
}

export function missingEntries(names: readonly ServiceName[], mode: RunMode): string[] {
  return names.map((name) => serviceEntryFile(name, mode)).filter((file) => !existsSync(file));
}
