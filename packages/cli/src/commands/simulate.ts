import { simulateCommand } from "@adpipe/traffic";
import type { Command } from "commander";

/**
 * `adpipe simulate`: @adpipe/traffic's simulate command (the one services/simulator runs) as an operator
 * command. Same options, same exit codes; Ctrl-C stops producing and prints the summary.
 */
export function register(program: Command): void {
  program.addCommand(
    simulateCommand("simulate").exitOverride().showHelpAfterError("(run with --help for usage)"),
  );
}
