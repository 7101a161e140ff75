export { commands } from "./commands/index.js";
export { EXIT, type ExitCode } from "./exit-codes.js";
export { buildProgram, type RegisterCommand, runProgram } from "./program.js";
