/**
 * The HTTP API's contract: the zod schemas of its requests and answers. The API validates requests and
 * generates /openapi.json from them; clients (the adpipe CLI, the dashboard's types) parse answers with them.
 */
export * from "./schemas.js";
