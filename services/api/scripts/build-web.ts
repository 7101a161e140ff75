import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * Bundles the dashboard (web/src, chart.js included) into dist/web with esbuild: the API serves these
 * files itself, so the page needs no CDN and works offline.
 */
const ROOT = new URL("../", import.meta.url);
export const DASHBOARD_OUT_DIR = new URL("dist/web/", ROOT);

export async function buildDashboard(outDir: URL = DASHBOARD_OUT_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [fileURLToPath(new URL("web/src/app.ts", ROOT))],
    outfile: fileURLToPath(new URL("app.js", outDir)),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: true,
    legalComments: "linked",
    logLevel: "warning",
  });
  await copyFile(new URL("web/index.html", ROOT), new URL("index.html", outDir));
  await copyFile(new URL("web/app.css", ROOT), new URL("app.css", outDir));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildDashboard();
  console.log(`dashboard built into ${fileURLToPath(DASHBOARD_OUT_DIR)}`);
}
