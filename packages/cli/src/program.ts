import { Command, CommanderError } from "commander";
import { EXIT } from "./exit-codes.js";

/** A command module adds one subcommand to the program. */
export type RegisterCommand = (program: Command) => void;

export function buildProgram(commands: readonly RegisterCommand[]): Command {
  const program = new Command("adpipe")
    .description(
      "Operator CLI for the ad marketing pipeline (Kafka/Event Hubs -> Postgres Bronze/Silver/Gold + Redis)",
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: true })
    .addHelpText(
      "after",
      `
Configuration comes from environment variables (DATABASE_URL, REDIS_URL, KAFKA_BROKERS or
EVENT_HUB_CONNECTION_STRING, KAFKA_TOPIC, ...); see docs/ (docs/operations.md for the commands).

Exit codes: 0 ok, 1 the command found a problem, 2 usage or configuration error,
69 a dependency is unavailable, 70 internal error.`,
    )
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the program and maps commander's own errors (bad flags, --help) onto our exit codes. */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      const benign = ["commander.helpDisplayed", "commander.version", "commander.help"];
      return benign.includes(error.code) ? EXIT.ok : EXIT.usage;
    }
    throw error;
  }
}
