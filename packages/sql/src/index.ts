export { type QueryErrorClass, type QueryErrorCode, SqlError } from "./errors.js";
export { headerFields, withoutComments } from "./header.js";
export {
  createQueryRegistry,
  listSqlFiles,
  type NamedQuery,
  type PreparedQuery,
  type QueryRegistry,
  type QueryRegistryOptions,
  readSqlFile,
} from "./registry.js";
export { checkStatement, type StatementCheck } from "./statement.js";
