import { rmSync } from "node:fs";
import { types } from "./src/delta/schema.js";
import { DeltaLakeSink } from "./src/delta/table.js";
import { LocalObjectStore } from "./src/storage/local.js";

rmSync("/tmp/lakespike/lake", { recursive: true, force: true });
const sink = new DeltaLakeSink(new LocalObjectStore("/tmp/lakespike/lake"), { checkpointInterval: 2 });
const t = sink.table({
  name: "t",
  path: "gold/t",
  partitionColumns: ["spend_day", "y"],
  columns: [
    { name: "id", type: types.string(), nullable: false },
    { name: "amount", type: types.decimal(20, 6), nullable: true },
    { name: "ts", type: types.timestamp(), nullable: true },
    { name: "n", type: types.long(), nullable: true },
    { name: "tags", type: types.array(types.string()), nullable: false },
    { name: "raw", type: types.binary(), nullable: true },
    { name: "d", type: types.date(), nullable: true },
    { name: "ok", type: types.boolean(), nullable: true },
    { name: "spend_day", type: types.timestamp(), nullable: false },
    { name: "y", type: types.integer(), nullable: true },
  ],
});
await t.create();
for (let i = 0; i < 3; i++) {
  const r = await t.append(
    [
      {
        id: `a${i}`,
        amount: 1234567n,
        ts: 1764000000123456n,
        n: 5n,
        tags: ["x"],
        raw: new Uint8Array([1]),
        d: 20000,
        ok: true,
        spend_day: 1764028800000000n,
        y: 2026,
      },
      {
        id: `b${i}`,
        amount: null,
        ts: null,
        n: null,
        tags: [],
        raw: null,
        d: null,
        ok: null,
        spend_day: 1764028800000000n,
        y: null,
      },
    ],
    { tokens: [{ appId: "app", version: i + 1 }] },
  );
  console.log(r);
}
console.log(await t.tokens());
