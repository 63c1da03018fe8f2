import { randomUUID } from 'node:crypto';
import { constants, createWriteStream, type Dirent, type WriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  assertRange,
  assertStorageKey,
  assertStoragePrefix,
  isStorageKey,
  ObjectMissingError,
  type ObjectStore,
} from './object-store';

export interface LocalStoreSettings {
  /** The directory holding every object; created (mode 0700) when missing. */
  readonly root: string;
}

/** Files being written carry this prefix until renamed onto their key; list() never shows them. */
const PARTIAL_PREFIX = '.partial-';
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * Objects as files at `<root>/<uid>/<id>`. A put writes a private temporary file beside the
 * target, fsyncs it, renames it into place and fsyncs the directory, so readers see either the
 * old object or the complete new one, and a crash leaves at worst a `.partial-*` file for
 * removeStalePartials.
 */
export function createLocalObjectStore(settings: LocalStoreSettings): ObjectStore {
  const root = path.resolve(settings.root);
  let rootReady: Promise<void> | undefined;
  const ensureRoot = () => {
    rootReady ??= mkdir(root, { recursive: true, mode: DIR_MODE }).then(
      () => undefined,
      (error: unknown) => {
        rootReady = undefined; // let the next call retry (e.g. a volume mounted late)
        throw error;
      },
    );
    return rootReady;
  };

  /**
   * Defence in depth behind assertStorageKey: whatever a key looks like, the path it names must
   * lie strictly inside root (not root itself, not beside it).
   */
  const pathInside = (relative: string): string => {
    const resolved = path.resolve(root, relative);
    const fromRoot = path.relative(root, resolved);
    if (
      fromRoot === '' ||
      fromRoot === '..' ||
      fromRoot.startsWith(`..${path.sep}`) ||
      path.isAbsolute(fromRoot) ||
      !resolved.startsWith(root + path.sep)
    ) {
      throw new Error(`refusing storage path outside the root: ${JSON.stringify(relative)}`);
    }
    return resolved;
  };

  const pathForKey = (key: string): string => {
    assertStorageKey(key);
    return pathInside(key);
  };

  return {
    kind: 'local',

    async put(key, body) {
      let target: string;
      try {
        target = pathForKey(key);
      } catch (error) {
        body.destroy();
        throw error;
      }
      const directory = path.dirname(target);
      const partial = path.join(directory, `${PARTIAL_PREFIX}${randomUUID()}`);
      let bytes = 0;
      let file: WriteStream | undefined;
      try {
        await ensureRoot();
        const madeDirectory = await mkdir(directory, { recursive: true, mode: DIR_MODE });
        // 'wx': never reuse or follow anything already at the temporary name. flush: fsync before
        // close, so the rename below can only ever publish bytes that are on disk.
        file = createWriteStream(partial, { flags: 'wx', mode: FILE_MODE, flush: true });
        // Settles only once every stream has closed, so the unlink below never races the write.
        await pipeline(
          body,
          async function* count(source: AsyncIterable<Buffer | string>) {
            for await (const chunk of source) {
              bytes += Buffer.byteLength(chunk);
              yield chunk;
            }
          },
          file,
        );
        await rename(partial, target);
        await syncDirectory(directory);
        // A uid's first object also created its directory: that entry must be durable too.
        if (madeDirectory) await syncDirectory(root);
        return { bytes };
      } catch (error) {
        body.destroy();
        // Always: the open may have completed after the body failed (no 'open' seen yet), and the
        // random 'wx' name is ours alone, so removing a file that was never made is harmless.
        // pipeline rejects at the first error, but a write stream destroyed while still opening
        // creates its file afterwards: wait for it to close, or the unlink would come too early.
        if (file && !file.closed) await new Promise<void>((resolve) => file?.once('close', () => resolve()));
        await unlink(partial).catch(() => {});
        throw error;
      }
    },

    async get(key, range) {
      const file = pathForKey(key);
      assertRange(range);
      let handle: FileHandle;
      try {
        handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        if (isAbsent(error)) throw new ObjectMissingError(key);
        throw error;
      }
      try {
        if (!(await handle.stat()).isFile()) throw new ObjectMissingError(key);
      } catch (error) {
        await handle.close().catch(() => {});
        throw error;
      }
      // The stream owns the handle from here: it closes it on end, error or destroy.
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    },

    async stat(key) {
      const file = pathForKey(key);
      try {
        const info = await stat(file);
        return info.isFile() ? { bytes: info.size } : undefined;
      } catch (error) {
        if (isAbsent(error)) return undefined;
        throw error;
      }
    },

    async delete(key) {
      const file = pathForKey(key);
      try {
        await unlink(file);
      } catch (error) {
        if (!isAbsent(error)) throw error;
      }
    },

    list(prefix) {
      // Validated here, not inside the generator, so a bad prefix throws at the call.
      assertStoragePrefix(prefix);
      const directory = pathInside(prefix.slice(0, -1));
      return listDirectory(directory, prefix);
    },

    async check() {
      await ensureRoot();
      const info = await stat(root);
      if (!info.isDirectory()) throw new Error(`storage root ${root} is not a directory`);
      // access(W_OK) always says yes to uid 0 whatever the mode bits; creating a file is the real test.
      const probe = path.join(root, `${PARTIAL_PREFIX}check-${randomUUID()}`);
      const handle = await open(probe, 'wx', FILE_MODE);
      await handle.close();
      await unlink(probe);
    },

    async close() {},
  };
}

async function* listDirectory(
  directory: string,
  prefix: string,
): AsyncGenerator<{ key: string; bytes: number }> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if (isAbsent(error)) return;
    throw error;
  }
  for (const name of names.sort()) {
    const key = prefix + name;
    if (!isStorageKey(key)) continue; // .partial-* and anything else that is not an object
    try {
      const info = await stat(path.join(directory, name));
      if (info.isFile()) yield { key, bytes: info.size };
    } catch (error) {
      if (!isAbsent(error)) throw error; // deleted since readdir: not listed
    }
  }
}

/**
 * Deletes `.partial-*` files whose mtime is older than `olderThanMs`: leftovers of a process that
 * died mid-put (a failed put removes its own). Every write advances a partial's mtime, so pick an
 * age far beyond the longest stall a client body may have; should a live put lose its partial
 * anyway, its rename fails and the put rejects — nothing incomplete is ever published. Returns
 * how many were removed.
 */
export async function removeStalePartials(root: string, olderThanMs: number): Promise<number> {
  const base = path.resolve(root);
  const cutoff = Date.now() - olderThanMs;
  let removed = 0;
  const sweep = async (directory: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isAbsent(error)) return;
      throw error;
    }
    for (const entry of entries) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory() && directory === base) {
        await sweep(full);
      } else if (entry.isFile() && entry.name.startsWith(PARTIAL_PREFIX)) {
        try {
          if ((await stat(full)).mtimeMs >= cutoff) continue;
          await unlink(full);
          removed += 1;
        } catch (error) {
          if (!isAbsent(error)) throw error;
        }
      }
    }
  };
  await sweep(base);
  return removed;
}

/** A rename is durable only once the directory entry itself is on disk. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
