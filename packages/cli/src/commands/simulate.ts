import { simulateCommand } from "@adpipe/simulator";
import type { Command } from "commander";

/**
 * `adpipe simulate`: the click simulator (services/simulator) as an operator command. Same options, same
 * exit codes; Ctrl-C stops producing and prints the summary.
 */
export function register(program: Command): void {
  program.addCommand(
    simulateCommand("simulate").exitOverride().showHelpAfterError("(run with --help for usage)"),
  );
}
