import { commands } from "./commands/index.js";
import { EXIT } from "./exit-codes.js";
import { buildProgram, runProgram } from "./program.js";

runProgram(buildProgram(commands), process.argv)
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    const code = (error as { exitCode?: number }).exitCode;
    console.error(`adpipe: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = typeof code === "number" ? code : EXIT.internal;
  });
