#!/usr/bin/env node
// Thin launcher so the bin exists before the first build; the CLI itself is compiled TypeScript.
import("../dist/main.js").catch((error) => {
  if (error?.code === "ERR_MODULE_NOT_FOUND") {
    console.error("adpipe: not built yet. Run `npm run build` first.");
    process.exit(70);
  }
  throw error;
});
