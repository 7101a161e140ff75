import { SIMULATOR_EXIT, simulateCommand } from "@adpipe/traffic";
import { CommanderError } from "commander";

const command = simulateCommand("adpipe-simulator").exitOverride();
command.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = ["commander.helpDisplayed", "commander.version", "commander.help"].includes(error.code)
      ? SIMULATOR_EXIT.ok
      : SIMULATOR_EXIT.usage;
    return;
  }
  process.stderr.write(`simulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = SIMULATOR_EXIT.internal;
});
