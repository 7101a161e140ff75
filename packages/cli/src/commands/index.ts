import type { RegisterCommand } from "../program.js";

/** Every subcommand of adpipe, one module each. */
export const commands: readonly RegisterCommand[] = [];
