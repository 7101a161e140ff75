import type { RegisterCommand } from "../program.js";
import { register as budget } from "./budget.js";
import { register as counts } from "./counts.js";
import { register as exportLake } from "./export.js";
import { register as migrate } from "./migrate.js";
import { register as offsets } from "./offsets.js";
import { register as rebuildRedis } from "./rebuild-redis.js";
import { register as reconcile } from "./reconcile.js";
import { register as replayCapture } from "./replay-capture.js";
import { register as reprocess } from "./reprocess.js";
import { register as retention } from "./retention.js";
import { register as simulate } from "./simulate.js";
import { register as status } from "./status.js";

/** Every subcommand of adpipe, one module each. */
export const commands: readonly RegisterCommand[] = [
  migrate,
  reprocess,
  counts,
  retention,
  rebuildRedis,
  reconcile,
  simulate,
  status,
  exportLake,
  replayCapture,
  offsets,
  budget,
];
