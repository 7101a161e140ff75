export { type DefinedErrorOptions, defineErrors, type PrefixedCode } from "./define-errors.js";
