import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalObjectStore } from "../../src/storage/local.js";

describe("LocalObjectStore", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "adpipe-local-store-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("putIfAbsent: of concurrent creates of one name exactly one wins, and no temporary file is left", async () => {
    const store = new LocalObjectStore(root);
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        store.putIfAbsent("t/_delta_log/00000000000000000001.json", Buffer.from(String(i))),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(Buffer.from((await store.get("t/_delta_log/00000000000000000001.json"))!).toString()).toBe(
      String(results.indexOf(true)),
    );
    expect(await readdir(join(root, "t/_delta_log"))).toEqual(["00000000000000000001.json"]);
  });

  it("get of a missing object is null; list is sorted and skips hidden files; paths cannot escape the root", async () => {
    const store = new LocalObjectStore(root);
    expect(await store.get("nope")).toBeNull();
    await store.put("a/b/2.txt", Buffer.from("2"));
    await store.put("a/b/1.txt", Buffer.from("1"));
    await store.put("a/c.txt", Buffer.from("c"));
    expect((await store.list("a/b/")).map((o) => o.path)).toEqual(["a/b/1.txt", "a/b/2.txt"]);
    expect((await store.list("a/")).map((o) => o.path)).toEqual(["a/b/1.txt", "a/b/2.txt", "a/c.txt"]);
    await store.delete("a/c.txt");
    await store.delete("a/c.txt");
    expect(await store.get("a/c.txt")).toBeNull();
    await expect(store.get("../outside")).rejects.toThrow(/escapes/);
    expect(() => new LocalObjectStore("relative/path")).toThrow(/absolute/);
  });
});
