import { randomUUID } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { LakeError } from "../errors.js";
import type { ObjectInfo, ObjectStore } from "./object-store.js";

function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

/**
 * A directory on a local (or mounted) file system. `putIfAbsent` writes a temporary file, flushes it and then
 * `link()`s it to the final name: link fails with EEXIST when the name exists, atomically, on every POSIX file
 * system (rename would silently replace it). Temporary names start with "." so table readers ignore leftovers
 * of a crash.
 */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    if (!isAbsolute(root)) throw new LakeError("invalid_config", `local lake path must be absolute: ${root}`);
    this.root = resolve(root);
    this.description = `file://${this.root}`;
  }

  private file(path: string): string {
    const full = resolve(this.root, path);
    if (full !== this.root && !full.startsWith(this.root + sep)) {
      throw new LakeError("invalid_config", `path escapes the lake root: ${path}`);
    }
    return full;
  }

  private temporaryName(full: string): string {
    return join(dirname(full), `.${randomUUID()}.tmp`);
  }

  async get(path: string): Promise<Uint8Array | null> {
    const full = this.file(path);
    try {
      return new Uint8Array(await readFile(full));
    } catch (error) {
      if (isErrno(error, "ENOENT")) return null;
      throw new LakeError("storage_failed", `cannot read ${path}`, { cause: error });
    }
  }

  /** Writes and fsyncs a temporary file next to the target; returns its name. */
  private async writeTemporary(full: string, data: Uint8Array): Promise<string> {
    await mkdir(dirname(full), { recursive: true });
    const temporary = this.temporaryName(full);
    const handle = await open(temporary, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return temporary;
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    const full = this.file(path);
    try {
      const temporary = await this.writeTemporary(full, data);
      await rename(temporary, full);
    } catch (error) {
      throw new LakeError("storage_failed", `cannot write ${path}`, { cause: error });
    }
  }

  async putIfAbsent(path: string, data: Uint8Array): Promise<boolean> {
    const full = this.file(path);
    let temporary: string | undefined;
    try {
      temporary = await this.writeTemporary(full, data);
      await link(temporary, full);
      return true;
    } catch (error) {
      if (isErrno(error, "EEXIST")) return false;
      throw new LakeError("storage_failed", `cannot create ${path}`, { cause: error });
    } finally {
      if (temporary !== undefined) await unlink(temporary).catch(() => undefined);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Walk only the deepest directory the prefix names, not the whole lake.
    const slash = prefix.lastIndexOf("/");
    const directory = slash === -1 ? "" : prefix.slice(0, slash);
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isErrno(error, "ENOENT")) return;
        throw new LakeError("storage_failed", `cannot list ${dir}`, { cause: error });
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        const path = relative(this.root, full).split(sep).join("/");
        if (entry.isDirectory()) {
          if (path.startsWith(prefix) || prefix.startsWith(`${path}/`)) await walk(full);
        } else if (entry.isFile() && path.startsWith(prefix) && !entry.name.startsWith(".")) {
          const info = await stat(full).catch(() => null);
          if (info !== null) out.push({ path, size: info.size, modifiedMs: info.mtimeMs });
        }
      }
    };
    await walk(this.file(directory));
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    const full = this.file(path);
    try {
      await unlink(full);
    } catch (error) {
      if (isErrno(error, "ENOENT")) return;
      throw new LakeError("storage_failed", `cannot delete ${path}`, { cause: error });
    }
  }
}
