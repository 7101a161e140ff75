import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../../support/index.js";

describe("Postgres round trip in its own schema", () => {
  let db: TestSchema;

  beforeAll(async () => {
    db = await createTestSchema("infra_pg");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("writes and reads exact money (NUMERIC micro-units) and UTC timestamps", async () => {
    await db.client.query(
      "CREATE TABLE spend (advertiser_id text PRIMARY KEY, spent_micros bigint NOT NULL, amount numeric(20,6) NOT NULL, at timestamptz NOT NULL)",
    );
    await db.client.query(
      "INSERT INTO spend (advertiser_id, spent_micros, amount, at) SELECT * FROM unnest($1::text[], $2::bigint[], $3::numeric[], $4::timestamptz[])",
      [
        ["adv-1", "adv-2"],
        ["9007199254740991", "1"],
        ["0.100000", "12345678901234.000001"],
        ["2026-01-01T00:00:00Z", "2026-06-30T23:59:59.999Z"],
      ],
    );
    const { rows } = await db.client.query<{
      advertiser_id: string;
      spent_micros: string;
      amount: string;
      at: Date;
    }>("SELECT advertiser_id, spent_micros::text, amount::text, at FROM spend ORDER BY advertiser_id");
    expect(rows).toEqual([
      {
        advertiser_id: "adv-1",
        spent_micros: "9007199254740991",
        amount: "0.100000",
        at: new Date("2026-01-01T00:00:00Z"),
      },
      {
        advertiser_id: "adv-2",
        spent_micros: "1",
        amount: "12345678901234.000001",
        at: new Date("2026-06-30T23:59:59.999Z"),
      },
    ]);
  });

  it("keeps its tables inside its schema", async () => {
    const { rows } = await db.client.query<{ table_schema: string }>(
      "SELECT table_schema FROM information_schema.tables WHERE table_name = 'spend' AND table_schema = $1",
      [db.schema],
    );
    expect(rows).toEqual([{ table_schema: db.schema }]);
  });
});
