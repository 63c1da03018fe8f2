import type { Readable } from 'node:stream';
import archiver from 'archiver';
import { z } from 'zod';
import { UpstreamError } from '../clients/files-client';
import { defineJobType, type FileObject, type JobContext } from '../job-types';

/** Earlier exports live in the same namespace; an export never nests them. */
export const EXPORT_NAME = /^export-.*\.zip$/;

// Formats that are compressed already: deflating them again costs CPU and gains nothing.
const PRECOMPRESSED =
  /^(image\/(jpeg|png|gif|webp|avif|heic|heif)|video\/|audio\/(mpeg|mp4|aac|ogg|opus|webm|flac)|application\/(zip|gzip|x-gzip|x-7z-compressed|x-rar-compressed|x-bzip2|x-xz|zstd|pdf|epub\+zip|vnd\.openxmlformats-officedocument\.))/i;

const exportPayload = z.object({}).strict();
type ExportPayload = z.infer<typeof exportPayload>;

/** A name that would be unsafe as a zip entry: whoever unzips must never be steered out of the folder. */
export class UnsafeEntryNameError extends Error {
  override readonly name = 'UnsafeEntryNameError';
}

/**
 * Defence in depth against zip-slip: the files service already refuses these names, so one here
 * means that guarantee broke. Separators (either kind) and dot segments are what an extractor
 * could resolve outside its target; controls could hide them. `..` inside a name (`a..b`) is
 * harmless once no separator can follow it, so such names are kept.
 */
export function assertSafeEntryName(name: string): void {
  if (
    name === '' ||
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    name.includes('\\') ||
    /\p{Cc}/u.test(name)
  ) {
    throw new UnsafeEntryNameError(`refusing to write an unsafe zip entry name: ${JSON.stringify(name)}`);
  }
}

/** `export-<ISO time, ":" → "-">-<first 8 of the job id>.zip`: colons are not file names on Windows. */
export function exportNameFor(jobId: string, now: Date = new Date()): string {
  return `export-${now.toISOString().replace(/:/g, '-')}-${jobId.slice(0, 8)}.zip`;
}

/**
 * Every object of the user, as one zip uploaded back into their namespace. Nothing is held whole:
 * each download is piped into the archive, whose output is the upload's body, one entry at a time
 * (the next download starts only when the previous entry is written). Entries sit in one folder
 * named like the export (see zipEntryName), deflated at speed level 1 unless their type is
 * compressed already (then stored).
 */
export const filesExport = defineJobType<ExportPayload>({
  type: 'files.export',
  payload: exportPayload,
  userCreatable: true,
  maxAttempts: 3,
  lockTimeoutSeconds: 600,
  backoff: { baseMs: 2000, maxMs: 60_000 },
  run: runExport,
});

async function runExport(ctx: JobContext): Promise<{ name: string; objects: number; bytes: number }> {
  const { files, signal } = ctx;
  signal.throwIfAborted();
  const objects = await listExportable(ctx);
  // Checked before a single byte is uploaded: a broken guarantee fails the job, it is not skipped.
  for (const object of objects) assertSafeEntryName(object.name);

  const name = exportNameFor(ctx.jobId);
  const folder = name.slice(0, -'.zip'.length);
  // Level 1: most of deflate's gain on text at a fraction of level 6's CPU; the export counts
  // against the user's quota and the per-object limit, so compressible data should shrink.
  const archive = archiver('zip', { zlib: { level: 1 } });
  archive.on('error', (error: Error) => {
    // archiver only emits its errors: destroying it is what aborts the upload reading from it.
    if (!archive.destroyed) archive.destroy(error);
  });
  archive.on('warning', (warning: Error) => ctx.logger.warn('export archive warning', { err: warning }));

  let current: Readable | undefined;
  const abort = () => {
    // No error on the download: its only listener is the archive's, which the destroy below ends.
    current?.destroy();
    archive.destroy(abortError(signal));
  };
  signal.addEventListener('abort', abort, { once: true });

  const uploading = files.upload(name, archive, 'application/zip');
  // Awaited below; until then a refusal (413 quota_exceeded…) must not count as unhandled.
  uploading.catch(() => {});
  let written = 0;
  let done = 0;
  try {
    for (const object of objects) {
      signal.throwIfAborted();
      current = await openObject(ctx, object.name);
      done += 1;
      if (current) {
        signal.throwIfAborted();
        await appendEntry(archive, current, {
          name: zipEntryName(folder, object.name),
          store: PRECOMPRESSED.test(object.contentType),
          uploading,
        });
        current = undefined;
        written += 1;
      }
      await ctx.progress(Math.min(99, Math.floor((done * 100) / objects.length)), {
        done,
        total: objects.length,
      });
    }
    signal.throwIfAborted();
    // finalize() settles only once the upload has read everything: the upload is what to wait for.
    archive.finalize().catch(() => {});
    const stored = await uploading;
    // From here on the export exists: nothing may fail the job into making a second one.
    await ctx.progress(100, { done, total: objects.length }).catch(() => {});
    const result = { name: stored.name, objects: written, bytes: stored.size };
    await ctx.events.publish('files.export.done', { jobId: ctx.jobId, ...result }).catch((error: unknown) => {
      // The export exists and the job's result says so; a missed notification is no reason to redo it.
      ctx.logger.warn('could not publish files.export.done', { jobId: ctx.jobId, err: error });
    });
    ctx.logger.info('files exported', { jobId: ctx.jobId, ...result });
    return result;
  } catch (error) {
    const cause = signal.aborted ? abortError(signal) : (error as Error);
    current?.destroy();
    // Never end the archive cleanly here: that would hand the files service a complete-looking
    // but truncated zip. Destroying it aborts the upload, so no object is created.
    if (!archive.destroyed) archive.destroy(cause);
    const uploadFailure = await uploading.then(
      () => undefined,
      (e: unknown) => e,
    );
    // The files service refusing the upload (413 quota…) is the root cause of whatever followed.
    throw uploadFailure instanceof UpstreamError && !signal.aborted ? uploadFailure : cause;
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

/** All objects but earlier exports, every page followed. Metadata only: names and sizes. */
async function listExportable(ctx: JobContext): Promise<FileObject[]> {
  const objects: FileObject[] = [];
  let after: string | undefined;
  do {
    ctx.signal.throwIfAborted();
    const page = await ctx.files.list(after);
    for (const object of page.objects) if (!EXPORT_NAME.test(object.name)) objects.push(object);
    after = page.next;
  } while (after !== undefined);
  return objects;
}

/** The object's bytes, or undefined when it was deleted since it was listed (the export skips it). */
async function openObject(ctx: JobContext, name: string): Promise<Readable | undefined> {
  try {
    return await ctx.files.download(name);
  } catch (error) {
    const e = error as { status?: unknown; code?: unknown };
    if (e.status === 404 && e.code === 'not_found') {
      ctx.logger.info('object gone before its export; skipped', { jobId: ctx.jobId });
      return undefined;
    }
    throw error;
  }
}

/**
 * Entries go into one folder named like the export. Besides unzipping tidily, this keeps names
 * intact: archiver "sanitises" entry names by dropping a leading `word:` (a Windows drive, to it),
 * so a top-level `todo:list.txt` would silently become `list.txt` — and could collide with a real
 * `list.txt`. Behind a folder no name starts the path. appendEntry checks the name that was written.
 */
export function zipEntryName(folder: string, name: string): string {
  assertSafeEntryName(name);
  return `${folder}/${name}`;
}

/** Appends one streamed entry and resolves once archiver has written all of it. */
function appendEntry(
  archive: archiver.Archiver,
  source: Readable,
  entry: { name: string; store: boolean; uploading: Promise<unknown> },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      archive.off('entry', onEntry);
      archive.off('error', onError);
      archive.off('close', onClose);
    };
    const onEntry = (data: archiver.EntryData) => {
      cleanup();
      if (data.name !== entry.name) {
        reject(
          new UnsafeEntryNameError(`the zip entry ${JSON.stringify(entry.name)} was renamed on writing`),
        );
        return;
      }
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the export archive closed before the entry was written'));
    };
    if (archive.destroyed) {
      source.destroy();
      reject(closedArchiveError(archive));
      return;
    }
    archive.on('entry', onEntry);
    archive.once('error', onError);
    archive.once('close', onClose);
    // The upload failing (refused, connection lost) stops the archive from draining: stop waiting.
    entry.uploading.catch((error: unknown) => {
      cleanup();
      reject(error);
    });
    archive.append(source, { name: entry.name, store: entry.store });
  });
}

function closedArchiveError(archive: archiver.Archiver): Error {
  return archive.errored ?? new Error('the export archive is closed');
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('the export was aborted');
  error.name = 'AbortError';
  return error;
}
