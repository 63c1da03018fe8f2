import { createCipheriv, createHash, randomUUID } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createLocalObjectStore, removeStalePartials } from '../src/storage/local-object-store';
import { ObjectMissingError, type ObjectStore } from '../src/storage/object-store';
import { createS3ObjectStore } from '../src/storage/s3-object-store';
import { type S3Server, startS3Server } from './support/s3-server';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The S3 store's part size here: S3's minimum, so 20 MiB is a real four-part multipart upload. */
const PART_BYTES = 5 * MiB;
/** Past two parts, so on S3 the first part has certainly been uploaded when the body fails. */
const FAIL_AFTER_BYTES = 2 * PART_BYTES + 2 * MiB;

/** What each backend offers the shared tests besides the store itself. */
interface Backend {
  store: ObjectStore;
  /** Traces of unfinished writes: `.partial-*` files (local); pending multipart uploads (S3). */
  unfinishedWrites(): Promise<string[]>;
  /** Leaves an unfinished write under `<uid>/`, as a put that is still running (or died) would. */
  plantUnfinishedWrite(uid: string): Promise<void>;
  /** A fingerprint of everything a store call could have touched. */
  footprint(): Promise<string>;
  /** Proves that what was stored is private at rest, from outside the store. */
  expectPrivateAtRest(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

interface BackendFactory {
  name: 'local' | 's3';
  create(): Promise<Backend>;
}

async function createLocalBackend(): Promise<Backend & { sandbox: string; root: string }> {
  // The root lives inside a sandbox so that "nothing outside the root" can be checked too.
  const sandbox = await mkdtemp(path.join(os.tmpdir(), 'files-local-store-'));
  const root = path.join(sandbox, 'objects');
  const store = createLocalObjectStore({ root });
  return {
    sandbox,
    root,
    store,
    unfinishedWrites: async () => (await walk(sandbox)).filter((entry) => /\.partial-/.test(entry)),
    plantUnfinishedWrite: async (uid) => {
      await mkdir(path.join(root, uid), { recursive: true, mode: 0o700 });
      await writeFile(path.join(root, uid, `.partial-${randomUUID()}`), 'half an object', { mode: 0o600 });
    },
    footprint: async () => {
      const passwd = await stat('/etc/passwd');
      return JSON.stringify({ sandbox: await walk(sandbox), passwd: [passwd.size, passwd.mtimeMs] });
    },
    expectPrivateAtRest: async (keys) => {
      expect(mode(await stat(root))).toBe(0o700);
      for (const key of keys) {
        expect(mode(await stat(path.join(root, path.dirname(key))))).toBe(0o700);
        expect(mode(await stat(path.join(root, key)))).toBe(0o600);
      }
    },
    close: async () => {
      await store.close();
      await rm(sandbox, { recursive: true, force: true });
    },
  };
}

async function createS3Backend(): Promise<Backend & { server: S3Server }> {
  const server = await startS3Server();
  const store = createS3ObjectStore({ ...server.settings, partBytes: PART_BYTES });
  // A separate client for the tests' own look at the bucket.
  const probe = new S3Client({
    region: server.settings.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: server.settings.credentials!,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const Bucket = server.bucket;
  return {
    server,
    store,
    unfinishedWrites: async () => {
      const listed = await probe.send(new ListMultipartUploadsCommand({ Bucket }));
      const viaApi = (listed.Uploads ?? []).map((upload) => `api:${upload.Key}:${upload.UploadId}`);
      const onDisk = (await server.pendingUploadIds()).map((id) => `disk:${id}`);
      return [...viaApi, ...onDisk];
    },
    plantUnfinishedWrite: async (uid) => {
      const Key = `${uid}/${randomUUID()}`;
      const { UploadId } = await probe.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      await probe.send(
        new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'half an object' }),
      );
    },
    footprint: async () =>
      JSON.stringify({ requests: server.requests.length, stored: await walk(server.directory) }),
    expectPrivateAtRest: async () => {
      // What reached the server, not what the store meant to send.
      const writes = server.requests.filter(
        (request) =>
          (request.method === 'PUT' && !('uploadId' in request.query) && !('partNumber' in request.query)) ||
          (request.method === 'POST' && 'uploads' in request.query),
      );
      const kinds = new Set(
        writes.map((request) => (request.method === 'PUT' ? 'PutObject' : 'CreateMultipart')),
      );
      expect([...kinds].sort()).toEqual(['CreateMultipart', 'PutObject']);
      for (const request of writes) {
        expect(request.headers['x-amz-server-side-encryption']).toBe('AES256');
      }
    },
    close: async () => {
      await store.close();
      probe.destroy();
      await server.close();
    },
  };
}

const backends: BackendFactory[] = [
  { name: 'local', create: createLocalBackend },
  { name: 's3', create: createS3Backend },
];

describe.each(backends)('$name object store', ({ name, create }) => {
  let backend: Backend;
  let store: ObjectStore;
  beforeEach(async () => {
    backend = await create();
    store = backend.store;
  });
  afterEach(async () => {
    await backend.close();
  });

  it.each([
    ['0 bytes', 0],
    ['1 byte', 1],
    ['100 KiB', 100 * KiB],
  ])('round-trips a body of %s', async (_label, size) => {
    const key = newKey();
    const bytes = bytesAt(0, size);
    await expect(store.put(key, Readable.from([bytes]))).resolves.toEqual({ bytes: size });
    expect(await readAll(await store.get(key))).toEqual(bytes);
    expect(await store.stat(key)).toEqual({ bytes: size });
  });

  it('round-trips a 20 MiB body produced lazily, compared by SHA-256', async () => {
    const key = newKey();
    const size = 20 * MiB;
    const body = lazyBody(size);
    await expect(store.put(key, body.stream)).resolves.toEqual({ bytes: size });
    expect(body.producedBytes()).toBe(size);
    expect(await sha256Of(await store.get(key))).toBe(body.sha256());
    expect(await store.stat(key)).toEqual({ bytes: size });
  });

  it('serves the first byte, the last byte and a middle span as slices of the object', async () => {
    const key = newKey();
    const size = PART_BYTES + 1 * MiB; // two parts on S3: the middle span crosses their boundary
    await store.put(key, lazyBody(size).stream);
    for (const [start, end] of [
      [0, 0],
      [size - 1, size - 1],
      [PART_BYTES - 1000, PART_BYTES + 999],
    ] as const) {
      const slice = await readAll(await store.get(key, { start, end }));
      expect(fingerprint(slice)).toEqual(fingerprint(bytesAt(start, end - start + 1)));
    }
  });

  it('reports the size of a stored object and undefined for an absent one', async () => {
    const key = newKey();
    await store.put(key, Readable.from([Buffer.from('twelve bytes')]));
    expect(await store.stat(key)).toEqual({ bytes: 12 });
    expect(await store.stat(newKey())).toBeUndefined();
  });

  it('overwriting a key replaces its bytes', async () => {
    const key = newKey();
    await store.put(key, Readable.from([Buffer.from('the first version, longer')]));
    await store.put(key, Readable.from([Buffer.from('second')]));
    expect((await readAll(await store.get(key))).toString()).toBe('second');
    expect(await store.stat(key)).toEqual({ bytes: 6 });
  });

  it('rejects a get of an absent or deleted key with ObjectMissingError, and deleting twice is fine', async () => {
    const key = newKey();
    await expect(store.get(key)).rejects.toBeInstanceOf(ObjectMissingError);
    await store.put(key, Readable.from([Buffer.from('short-lived')]));
    await store.delete(key);
    await expect(store.get(key)).rejects.toBeInstanceOf(ObjectMissingError);
    await expect(store.get(key, { start: 0, end: 0 })).rejects.toBeInstanceOf(ObjectMissingError);
    await expect(store.delete(key)).resolves.toBeUndefined();
    expect(await store.stat(key)).toBeUndefined();
  });

  it("lists exactly one uid's keys: not a neighbour's, not unfinished writes", async () => {
    const uid = randomUUID();
    const neighbour = randomUUID();
    const mine = [`${uid}/${randomUUID()}`, `${uid}/${randomUUID()}`].sort();
    for (const key of mine) await store.put(key, Readable.from([Buffer.from(key)]));
    await store.put(`${neighbour}/${randomUUID()}`, Readable.from([Buffer.from('not yours')]));
    await backend.plantUnfinishedWrite(uid);
    // The probe used by the failure tests below does see an unfinished write.
    expect(await backend.unfinishedWrites()).not.toEqual([]);

    const listed = await collect(() => store.list(`${uid}/`));
    expect(listed.sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      mine.map((key) => ({ key, bytes: Buffer.byteLength(key) })),
    );
    expect(await collect(() => store.list(`${randomUUID()}/`))).toEqual([]);
  });

  const uuid = randomUUID();
  const other = randomUUID();
  it.each([
    ['../x'],
    ['a/b'],
    ['/etc/passwd'],
    [`${uuid}/../${other}`],
    [`${uuid.toUpperCase()}/${other}`],
    [`${uuid}/${other}/x`],
    [`${uuid}/.partial-${other}`],
    [`${uuid}/${other}\n`],
    [''],
  ])('refuses the key %j before touching storage', async (key) => {
    await store.put(newKey(), Readable.from([Buffer.from('already here')])); // a root with content
    const before = await backend.footprint();
    const body = Readable.from([Buffer.from('should never be stored')]);
    await expect(store.put(key, body)).rejects.toThrow(/refusing/);
    await expect(store.get(key)).rejects.toThrow(/refusing/);
    await expect(store.stat(key)).rejects.toThrow(/refusing/);
    await expect(store.delete(key)).rejects.toThrow(/refusing/);
    await expect(collect(() => store.list(key))).rejects.toThrow(/refusing/);
    expect(await backend.footprint()).toBe(before);
  });

  it.each([['../'], [''], [uuid], [`${uuid.toUpperCase()}/`], [`${uuid}/${other}/`], ['/']])(
    'refuses the listing prefix %j before touching storage',
    async (prefix) => {
      const before = await backend.footprint();
      await expect(collect(() => store.list(prefix))).rejects.toThrow(/refusing/);
      expect(await backend.footprint()).toBe(before);
    },
  );

  it.each(['errors', 'is destroyed'] as const)(
    'leaves no object, partial file or pending upload when the body %s mid-stream',
    async (failure) => {
      const uid = randomUUID();
      const key = `${uid}/${randomUUID()}`;
      let seenWhileWriting: string[] = [];
      const body = lazyBody(FAIL_AFTER_BYTES + 1 * MiB, {
        stopAt: FAIL_AFTER_BYTES,
        how: failure === 'errors' ? 'error' : 'destroy',
        beforeStopping: async () => {
          seenWhileWriting = await backend.unfinishedWrites();
        },
      });
      await expect(store.put(key, body.stream)).rejects.toThrow();
      // The write really was under way (a partial file; a pending multipart upload) when it failed.
      expect(seenWhileWriting).not.toEqual([]);
      expect(body.producedBytes()).toBe(FAIL_AFTER_BYTES);

      expect(await store.stat(key)).toBeUndefined();
      expect(await collect(() => store.list(`${uid}/`))).toEqual([]);
      expect(await backend.unfinishedWrites()).toEqual([]);
    },
  );

  it('keeps stored objects private at rest (owner-only files; server-side encryption asked for)', async () => {
    const small = newKey();
    const large = newKey();
    await store.put(small, Readable.from([Buffer.from('single request')]));
    await store.put(large, lazyBody(PART_BYTES + 1).stream); // multipart on S3
    await backend.expectPrivateAtRest([small, large]);
  });

  if (name === 'local') {
    describe('local only', () => {
      it('removeStalePartials removes an old partial and keeps a fresh one', async () => {
        const { root } = backend as Awaited<ReturnType<typeof createLocalBackend>>;
        const uidDir = path.join(root, randomUUID());
        await mkdir(uidDir, { recursive: true });
        const stale = path.join(uidDir, `.partial-${randomUUID()}`);
        const fresh = path.join(uidDir, `.partial-${randomUUID()}`);
        const object = path.join(uidDir, randomUUID());
        await Promise.all([
          writeFile(stale, 'killed mid-put'),
          writeFile(fresh, 'in progress'),
          writeFile(object, 'x'),
        ]);
        const anHourAgo = new Date(Date.now() - 3_600_000);
        await utimes(stale, anHourAgo, anHourAgo);
        await utimes(object, anHourAgo, anHourAgo);

        await expect(removeStalePartials(root, 10 * 60_000)).resolves.toBe(1);
        await expect(lstat(stale)).rejects.toMatchObject({ code: 'ENOENT' });
        await expect(lstat(fresh)).resolves.toBeDefined();
        await expect(lstat(object)).resolves.toBeDefined();
      });

      it('refuses paths outside the root even with the key check switched off', async () => {
        const { root, sandbox } = backend as Awaited<ReturnType<typeof createLocalBackend>>;
        let createUnchecked: typeof createLocalObjectStore | undefined;
        jest.isolateModules(() => {
          jest.doMock('../src/storage/object-store', () => ({
            ...jest.requireActual('../src/storage/object-store'),
            assertStorageKey: () => {},
            assertStoragePrefix: () => {},
          }));
          createUnchecked = require('../src/storage/local-object-store').createLocalObjectStore;
        });
        const unchecked = createUnchecked!({ root });
        await unchecked.check(); // creates the root, so escapes would land beside it
        const before = await backend.footprint();
        // Every target lies inside the sandbox, so a broken check cannot harm the machine.
        for (const key of ['', '.', '../escaped', '../objects-sibling/x', path.join(sandbox, 'absolute')]) {
          await expect(unchecked.put(key, Readable.from([Buffer.from('escape')]))).rejects.toThrow(
            /outside the root/,
          );
          await expect(unchecked.get(key)).rejects.toThrow(/outside the root/);
          await expect(unchecked.stat(key)).rejects.toThrow(/outside the root/);
          await expect(unchecked.delete(key)).rejects.toThrow(/outside the root/);
        }
        for (const prefix of ['/', '../', '../objects-sibling/']) {
          await expect(collect(() => unchecked.list(prefix))).rejects.toThrow(/outside the root/);
        }
        expect(await backend.footprint()).toBe(before);
      });

      it('check() creates a missing root with mode 0700 and rejects when the root is not a directory', async () => {
        const { root, sandbox } = backend as Awaited<ReturnType<typeof createLocalBackend>>;
        await store.check();
        expect(mode(await stat(root))).toBe(0o700);

        const notADirectory = path.join(sandbox, 'a-file');
        await writeFile(notADirectory, '');
        await expect(createLocalObjectStore({ root: notADirectory }).check()).rejects.toThrow();
      });
    });
  }

  if (name === 's3') {
    describe('s3 only', () => {
      it('asks for aws:kms with the configured key id when so configured', async () => {
        const { server } = backend as Awaited<ReturnType<typeof createS3Backend>>;
        const kms = createS3ObjectStore({
          ...server.settings,
          serverSideEncryption: 'aws:kms',
          kmsKeyId: 'alias/files',
        });
        try {
          await kms.put(newKey(), Readable.from([Buffer.from('kms')]));
        } finally {
          await kms.close();
        }
        const put = server.requests.at(-1)!;
        expect(put.method).toBe('PUT');
        expect(put.headers['x-amz-server-side-encryption']).toBe('aws:kms');
        expect(put.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/files');
      });

      it('check() rejects when the bucket does not exist', async () => {
        const { server } = backend as Awaited<ReturnType<typeof createS3Backend>>;
        await store.check();
        const missing = createS3ObjectStore({ ...server.settings, bucket: 'no-such-bucket' });
        try {
          await expect(missing.check()).rejects.toThrow();
        } finally {
          await missing.close();
        }
      });
    });
  }
});

function newKey(): string {
  return `${randomUUID()}/${randomUUID()}`;
}

/** Length and digest: compares large buffers without jest diffing megabytes. */
function fingerprint(bytes: Buffer): { bytes: number; sha256: string } {
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function mode(info: { mode: number }): number {
  return info.mode & 0o777;
}

/**
 * Deterministic bytes by position (an AES-256-CTR keystream), so any slice of a body that was
 * never held in memory can be recomputed on its own.
 */
function bytesAt(offset: number, length: number): Buffer {
  const block = Math.floor(offset / 16);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(block), 8);
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), iv);
  const skip = offset - block * 16;
  return cipher.update(Buffer.alloc(skip + length)).subarray(skip);
}

interface LazyBody {
  stream: Readable;
  producedBytes(): number;
  sha256(): string;
}

/**
 * A body generated chunk by chunk as it is read (never concatenated), hashed on the way out.
 * With `stop`, after `stopAt` bytes it runs `beforeStopping`, then fails the way a request body
 * does when its client goes away: destroyed from outside, with an error or without one.
 */
function lazyBody(
  size: number,
  stop?: { stopAt: number; how: 'error' | 'destroy'; beforeStopping?: () => Promise<void> },
): LazyBody {
  const hash = createHash('sha256');
  let produced = 0;
  const limit = stop ? Math.min(stop.stopAt, size) : size;
  function* chunks(): Generator<Buffer> {
    while (produced < limit) {
      const chunk = bytesAt(produced, Math.min(64 * KiB, limit - produced));
      hash.update(chunk);
      produced += chunk.length;
      yield chunk;
    }
  }
  const source = chunks();
  let stopping = false;
  const stream = new Readable({
    read() {
      const next = source.next();
      if (!next.done) {
        this.push(next.value);
      } else if (!stop) {
        this.push(null);
      } else if (!stopping) {
        stopping = true;
        void (stop.beforeStopping?.() ?? Promise.resolve()).then(() =>
          stop.how === 'error' ? this.destroy(new Error('the client went away mid-upload')) : this.destroy(),
        );
      }
    },
  });
  return { stream, producedBytes: () => produced, sha256: () => hash.digest('hex') };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function collect<T>(make: () => AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of make()) items.push(item);
  return items;
}

/** Every path under `directory` with its type, mode and size: a comparable snapshot. */
async function walk(directory: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (current: string) => {
    let names: string[];
    try {
      names = await readdir(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names.sort()) {
      const full = path.join(current, name);
      const info = await lstat(full);
      out.push(
        `${path.relative(directory, full)} ${info.isDirectory() ? 'd' : 'f'}${mode(info).toString(8)} ${info.size}`,
      );
      if (info.isDirectory()) await visit(full);
    }
  };
  await visit(directory);
  return out;
}
