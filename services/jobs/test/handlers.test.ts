import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { ACCOUNT_PURGE_JOB, enqueueAccountPurge, withTenant } from '@tenantmesh/db';
import { createLogger, createMetrics } from '@tenantmesh/observability';
import { mintUserToken } from '@tenantmesh/user-token';
import yauzl from 'yauzl';
import { z } from 'zod';
import { createEventsClient } from '../src/clients/events-client';
import { createFilesClient, UpstreamError } from '../src/clients/files-client';
import { accountPurge } from '../src/handlers/account-purge';
import {
  assertSafeEntryName,
  EXPORT_NAME,
  filesExport,
  UnsafeEntryNameError,
} from '../src/handlers/files-export';
import { JOB_TYPES, jobTypesByName } from '../src/handlers/index';
import { defineJobType, type FileObject, type FilesClient } from '../src/job-types';
import { createJobsMetrics } from '../src/jobs-metrics';
import { Worker } from '../src/queue/worker';
import { type Mesh, startMesh } from './support/mesh';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh();
});
afterAll(async () => {
  await mesh?.close();
});

async function put(uid: string, name: string, bytes: Buffer, contentType = 'application/octet-stream') {
  return mesh.filesFor(uid).upload(name, Readable.from([bytes]), contentType);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listAll(files: FilesClient): Promise<FileObject[]> {
  const all: FileObject[] = [];
  let after: string | undefined;
  do {
    const page = await files.list(after);
    all.push(...page.objects);
    after = page.next;
  } while (after !== undefined);
  return all;
}

/** Every entry of a zip, name → bytes, read with yauzl (which itself refuses unsafe entry paths). */
async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, z) => (error ? reject(error) : resolve(z))),
  );
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    file.on('error', reject);
    file.on('end', resolve);
    file.on('entry', (entry: yauzl.Entry) => {
      file.openReadStream(entry, (error, stream) => {
        if (error) {
          reject(error);
          return;
        }
        readAll(stream).then((bytes) => {
          entries.set(entry.fileName, bytes);
          file.readEntry();
        }, reject);
      });
    });
    file.readEntry();
  });
  return entries;
}

/** A user's rows in every table that holds tenant data (found from the catalog, so new tables count). */
async function rowsOf(uid: string): Promise<Record<string, number>> {
  const tables = await mesh.owner.sql<{ table_name: string }[]>`
    select table_name from information_schema.columns
    where table_schema = 'public' and column_name = 'user_id' order by table_name`;
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = await mesh.owner.sql<{ n: string }[]>`
      select count(*) as n from ${mesh.owner.sql(table_name)} where user_id = ${uid}`;
    counts[table_name] = Number(row!.n);
  }
  const [root] = await mesh.owner.sql<
    { n: string }[]
  >`select count(*) as n from user_sessions where id = ${uid}`;
  counts.user_sessions = Number(root!.n);
  return counts;
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function userWithObjects(label: string, objects: Record<string, Buffer>): Promise<string> {
  const uid = await mesh.newUser(label);
  for (const [name, bytes] of Object.entries(objects)) await put(uid, name, bytes);
  return uid;
}

describe('job types', () => {
  it('registers files.export (user-creatable) and account.purge (internal) by name', () => {
    const byName = jobTypesByName(JOB_TYPES);
    expect([...byName.keys()]).toEqual(['files.export', 'account.purge']);
    expect(byName.get('files.export')).toMatchObject({
      userCreatable: true,
      maxAttempts: 3,
      lockTimeoutSeconds: 600,
      backoff: { baseMs: 2000, maxMs: 60_000 },
    });
    expect(byName.get('account.purge')).toMatchObject({
      userCreatable: false,
      maxAttempts: 20,
      lockTimeoutSeconds: 600,
      backoff: { baseMs: 5000, maxMs: 3_600_000 },
    });
    // auth enqueues the purge with these settings (packages/db): the handler must agree with them.
    expect(byName.get(ACCOUNT_PURGE_JOB.type)).toMatchObject({
      maxAttempts: ACCOUNT_PURGE_JOB.maxAttempts,
      lockTimeoutSeconds: ACCOUNT_PURGE_JOB.lockTimeoutSeconds,
    });
    expect(() => jobTypesByName([filesExport, filesExport])).toThrow(/two job types/);
  });

  it('accepts only an empty payload for both', () => {
    for (const type of JOB_TYPES) {
      expect(type.payload.safeParse({}).success).toBe(true);
      expect(type.payload.safeParse({ uid: '00000000-0000-4000-8000-000000000000' }).success).toBe(false);
    }
  });
});

describe('files.export', () => {
  const text = Buffer.from('line of notes, quite compressible\n'.repeat(6000));
  const photo = randomBytes(1024 * 1024);
  const unicode = Buffer.from('Zürich · 東京 · Ελλάδα\n'.repeat(100));
  const originals: Record<string, Buffer> = {
    'notes.txt': text,
    'photo.jpg': photo,
    'résumé – 日本語.md': unicode,
  };

  it('zips every object of the user, byte for byte, into a new export in their own namespace', async () => {
    const alice = await mesh.newUser('alice');
    await put(alice, 'notes.txt', text, 'text/plain');
    await put(alice, 'photo.jpg', photo, 'image/jpeg');
    await put(alice, 'résumé – 日本語.md', unicode, 'text/markdown');
    const earlier = await put(alice, 'export-2020-01-01T00-00-00.000Z-deadbeef.zip', randomBytes(5000));
    const bob = await userWithObjects('bob', {
      'notes.txt': Buffer.from('bob only'),
      'bob.bin': randomBytes(777),
    });
    const bobBefore = await listAll(mesh.filesFor(bob));

    const ctx = mesh.contextFor(alice, { type: 'files.export' });
    const result = (await filesExport.run(ctx, {})) as { name: string; objects: number; bytes: number };

    const stamp = /^export-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-([0-9a-f]{8})\.zip$/.exec(result.name);
    expect(stamp?.[1]).toBe(ctx.jobId.slice(0, 8));
    expect(result.objects).toBe(3);

    const listed = await listAll(mesh.filesFor(alice));
    const made = listed.find((o) => o.name === result.name);
    expect(made).toMatchObject({ contentType: 'application/zip', size: result.bytes });
    const zip = await readAll(await mesh.filesFor(alice).download(result.name));
    expect(sha256(zip)).toBe(made?.sha256);

    const entries = await unzip(zip);
    const folder = result.name.replace(/\.zip$/, '');
    expect([...entries.keys()].sort()).toEqual(
      Object.keys(originals)
        .map((n) => `${folder}/${n}`)
        .sort(),
    );
    for (const [name, bytes] of Object.entries(originals)) {
      expect(sha256(entries.get(`${folder}/${name}`)!)).toBe(sha256(bytes));
    }
    // The earlier export is not nested, and nothing of Bob's is in it (his notes.txt differs).
    const hashes = new Set([...entries.values()].map(sha256));
    expect(hashes.has(earlier.sha256)).toBe(false);
    for (const object of bobBefore) expect(hashes.has(object.sha256)).toBe(false);
    // Bob's namespace is exactly as it was.
    expect(await listAll(mesh.filesFor(bob))).toEqual(bobBefore);

    expect(ctx.progressCalls).toEqual([
      { percent: 33, detail: { done: 1, total: 3 } },
      { percent: 66, detail: { done: 2, total: 3 } },
      { percent: 99, detail: { done: 3, total: 3 } },
      { percent: 100, detail: { done: 3, total: 3 } },
    ]);
    // What reached Alice's own event stream, as the gateway would open it for her.
    const stream = mesh.streamOf(alice);
    await stream.waitFor((events) => events.some((e) => e.event === 'files.export.done'));
    const progress = stream.events.filter((e) => e.event === 'job.progress').map((e) => JSON.parse(e.data));
    expect(progress.map((p) => p.percent)).toEqual([33, 66, 99, 100]);
    expect(progress[0]).toEqual({ jobId: ctx.jobId, type: 'files.export', percent: 33, done: 1, total: 3 });
    const done = stream.events.find((e) => e.event === 'files.export.done');
    expect(JSON.parse(done!.data)).toEqual({ jobId: ctx.jobId, ...result });
    // …and nothing of it reached Bob.
    const [bobEvents] = await mesh.owner.sql<{ n: string }[]>`
      select count(*) as n from events where user_id = ${bob}`;
    expect(Number(bobEvents!.n)).toBe(0);
  });

  it('never nests earlier exports: a second export holds the same objects as the first', async () => {
    const uid = await userWithObjects('twice', { 'a.txt': Buffer.from('a'), 'b.txt': Buffer.from('b') });
    const first = (await filesExport.run(mesh.contextFor(uid), {})) as { name: string };
    const second = (await filesExport.run(mesh.contextFor(uid), {})) as { name: string; objects: number };
    expect(second.name).not.toBe(first.name);
    expect(second.objects).toBe(2);
    const entries = await unzip(await readAll(await mesh.filesFor(uid).download(second.name)));
    const names = [...entries.keys()].map((n) => n.slice(n.indexOf('/') + 1));
    expect(names.sort()).toEqual(['a.txt', 'b.txt']);
    expect(names.some((n) => EXPORT_NAME.test(n))).toBe(false);
  });

  it('follows `next` through every page of a large namespace', async () => {
    const uid = await mesh.newUser('many');
    const count = 23; // pages of 5: four full pages and a short one, with an earlier export among them
    for (let i = 0; i < count; i++) await put(uid, `n-${String(i).padStart(2, '0')}`, Buffer.from(`#${i}`));
    await put(uid, 'export-2021-01-01T00-00-00.000Z-00000000.zip', Buffer.from('old'));
    const ctx = mesh.contextFor(uid, { pageLimit: 5 });
    const result = (await filesExport.run(ctx, {})) as { name: string; objects: number };
    expect(result.objects).toBe(count);
    expect(ctx.progressCalls.at(-2)).toEqual({ percent: 99, detail: { done: count, total: count } });
    const entries = await unzip(await readAll(await mesh.filesFor(uid).download(result.name)));
    expect(entries.size).toBe(count);
    expect(entries.get(`${result.name.replace(/\.zip$/, '')}/n-22`)?.toString()).toBe('#22');
  });

  it('keeps a name that archiver would rewrite at the top level (a leading "word:") intact', async () => {
    const uid = await userWithObjects('colon', {
      'todo:list.txt': Buffer.from('todo'),
      'list.txt': Buffer.from('list'),
      'a..b.txt': Buffer.from('dots'),
    });
    const result = (await filesExport.run(mesh.contextFor(uid), {})) as { name: string };
    const entries = await unzip(await readAll(await mesh.filesFor(uid).download(result.name)));
    const folder = result.name.replace(/\.zip$/, '');
    expect(entries.get(`${folder}/todo:list.txt`)?.toString()).toBe('todo');
    expect(entries.get(`${folder}/list.txt`)?.toString()).toBe('list');
    expect(entries.get(`${folder}/a..b.txt`)?.toString()).toBe('dots');
  });

  it('honours abort: aborted mid-way it rejects, and no export object (nor any leftover bytes) exists', async () => {
    const uid = await userWithObjects('abort', {
      'one.bin': randomBytes(1024 * 1024),
      'two.bin': randomBytes(1024 * 1024),
      'three.bin': randomBytes(1024 * 1024),
    });
    const blobsBefore = mesh.blobsOf(uid).length;
    const controller = new AbortController();
    const ctx = mesh.contextFor(uid, {
      signal: controller.signal,
      onProgress: ({ detail }) => {
        if (detail?.done === 1) controller.abort();
      },
    });
    await expect(filesExport.run(ctx, {})).rejects.toMatchObject({ name: 'AbortError' });
    expect(ctx.progressCalls).toHaveLength(1);
    const names = (await listAll(mesh.filesFor(uid))).map((o) => o.name);
    expect(names.sort()).toEqual(['one.bin', 'three.bin', 'two.bin']);
    // The files service dropped the interrupted upload: no partial file stays in its store.
    await waitUntil(() => mesh.blobsOf(uid).length === blobsBefore);
  });

  it('honours abort while an object is still streaming: stops at once, the stalled download is released', async () => {
    const uid = await userWithObjects('stall', {
      'one.bin': randomBytes(256 * 1024),
      'two.bin': randomBytes(1024 * 1024),
    });
    const blobsBefore = mesh.blobsOf(uid).length;
    const controller = new AbortController();
    let stalled: PassThrough | undefined;
    let firstChunk: () => void = () => {};
    const flowing = new Promise<void>((resolve) => {
      firstChunk = resolve;
    });
    const ctx = mesh.contextFor(uid, {
      signal: controller.signal,
      // two.bin's bytes stop after the first chunk, as from an upstream that hangs mid-body.
      files: (real) => ({
        ...real,
        download: async (name) => {
          const source = await real.download(name);
          if (name !== 'two.bin') return source;
          const out = new PassThrough();
          stalled = out;
          source.once('data', (chunk: Buffer) => {
            source.pause();
            out.write(chunk);
            firstChunk();
          });
          out.once('close', () => source.destroy());
          return out;
        },
      }),
    });
    const running = filesExport.run(ctx, {});
    running.catch(() => {});
    await flowing;
    controller.abort();
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the export ignored the abort')), 3000);
    });
    try {
      await expect(Promise.race([running, hung])).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      clearTimeout(timer);
    }
    expect(stalled?.destroyed).toBe(true);
    expect((await listAll(mesh.filesFor(uid))).some((o) => EXPORT_NAME.test(o.name))).toBe(false);
    await waitUntil(() => mesh.blobsOf(uid).length === blobsBefore);
  });

  it('fails on a download that fails part-way, and never stores a partial export', async () => {
    const uid = await userWithObjects('partial', {
      'one.txt': Buffer.from('one'),
      'two.txt': Buffer.from('two'),
      'three.txt': Buffer.from('three'),
    });
    const blobsBefore = mesh.blobsOf(uid).length;
    const unavailable = new UpstreamError('files', 503, 'service_unavailable');
    const ctx = mesh.contextFor(uid, {
      files: (real) => ({
        ...real,
        download: async (name) => {
          if (name === 'two.txt') throw unavailable;
          return real.download(name);
        },
      }),
    });
    await expect(filesExport.run(ctx, {})).rejects.toBe(unavailable);
    expect((await listAll(mesh.filesFor(uid))).some((o) => EXPORT_NAME.test(o.name))).toBe(false);
    await waitUntil(() => mesh.blobsOf(uid).length === blobsBefore);
  });

  it('refuses an unsafe zip entry name (zip-slip) before uploading anything', async () => {
    const uid = await userWithObjects('slip', { 'fine.txt': Buffer.from('fine') });
    const hostile: FileObject = {
      name: '../../evil.sh',
      size: 4,
      sha256: '0'.repeat(64),
      contentType: 'text/plain',
    };
    let uploads = 0;
    const ctx = mesh.contextFor(uid, {
      // The files service refuses such names, so only a broken guarantee could list one: simulate it.
      files: (real) => ({
        ...real,
        list: async (after) => {
          const page = await real.list(after);
          return { ...page, objects: [...page.objects, hostile] };
        },
        download: async (name) =>
          name === hostile.name ? Readable.from([Buffer.from('evil')]) : real.download(name),
        upload: (name, body, type) => {
          uploads += 1;
          return real.upload(name, body, type);
        },
      }),
    });
    await expect(filesExport.run(ctx, {})).rejects.toBeInstanceOf(UnsafeEntryNameError);
    expect(uploads).toBe(0);
    expect((await listAll(mesh.filesFor(uid))).map((o) => o.name)).toEqual(['fine.txt']);
  });

  it('asserts entry names: no separators of either kind, no dot segments, no controls', () => {
    for (const bad of ['../x', '..\\x', 'a/b', 'a\\b', '..', '.', '', 'a\u0000b', 'a\nb']) {
      expect(() => assertSafeEntryName(bad)).toThrow(UnsafeEntryNameError);
    }
    for (const good of ['a..b', 'résumé – 日本語.md', 'todo:list.txt', '.hidden', '...']) {
      expect(() => assertSafeEntryName(good)).not.toThrow();
    }
  });

  it('fails with the upload refusal when the export does not fit (413 payload_too_large), leaving nothing', async () => {
    // Random bytes do not deflate: 9 × 1 MiB of them make an export over the 8 MiB object limit.
    const objects: Record<string, Buffer> = {};
    for (let i = 0; i < 9; i++) objects[`r${i}.bin`] = randomBytes(1024 * 1024);
    const uid = await userWithObjects('big', objects);
    const blobsBefore = mesh.blobsOf(uid).length;
    const error = await filesExport.run(mesh.contextFor(uid), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ service: 'files', status: 413, code: 'payload_too_large' });
    expect((await listAll(mesh.filesFor(uid))).some((o) => EXPORT_NAME.test(o.name))).toBe(false);
    await waitUntil(() => mesh.blobsOf(uid).length === blobsBefore);
  });
});

describe('account.purge', () => {
  async function seed(label: string, objects: number) {
    const uid = await mesh.newUser(label);
    for (let i = 0; i < objects; i++) await put(uid, `${label}-${i}.bin`, randomBytes(2048 + i));
    const [notebook] = await mesh.owner.sql<{ id: string }[]>`
      insert into notebooks (user_id, title) values (${uid}, 'journal') returning id`;
    await mesh.owner
      .sql`insert into notes (user_id, notebook_id, body) values (${uid}, ${notebook!.id}, 'hi')`;
    await mesh.owner.sql`
      insert into sessions (user_id, token_hash, idle_expires_at, absolute_expires_at)
      values (${uid}, ${randomBytes(32)}, now() + interval '1 hour', now() + interval '1 day')`;
    const events = createEventsClient({ baseUrl: mesh.eventsUrl, ring: mesh.jobsRings.events, uid });
    await events.publish('note.added', { n: 1 });
    // The purge's own job row, enqueued as auth does on a deletion request: it goes with the user.
    await withTenant(mesh.runtime.db, uid, (trx) => enqueueAccountPurge(trx, uid));
    return uid;
  }

  it('removes every object (bytes and metadata) and every row of the user, and nothing of anyone else', async () => {
    const carol = await seed('carol', 5);
    const dave = await seed('dave', 3);
    const rowsBefore = await rowsOf(carol);
    expect(rowsBefore).toMatchObject({
      file_objects: 5,
      notebooks: 1,
      notes: 1,
      sessions: 1,
      jobs: 1,
      user_sessions: 1,
    });
    expect(rowsBefore.events).toBeGreaterThan(0);
    expect(mesh.blobsOf(carol)).toHaveLength(5);
    const daveRows = await rowsOf(dave);
    const daveObjects = await listAll(mesh.filesFor(dave));
    const daveBlobs = mesh.blobsOf(dave).sort();

    // Pages of 2: the purge re-lists from the start after each page it deleted.
    const result = await accountPurge.run(
      mesh.contextFor(carol, { type: 'account.purge', pageLimit: 2 }),
      {},
    );

    expect(result).toEqual({ objectsRemoved: 5 });
    expect(mesh.blobsOf(carol)).toEqual([]);
    const after = await rowsOf(carol);
    for (const [table, n] of Object.entries(after)) expect([table, n]).toEqual([table, 0]);
    expect(await rowsOf(dave)).toEqual(daveRows);
    expect(await listAll(mesh.filesFor(dave))).toEqual(daveObjects);
    expect(mesh.blobsOf(dave).sort()).toEqual(daveBlobs);
  });

  it('succeeds again on a uid already purged (the files service lists an empty namespace for it)', async () => {
    const erin = await seed('erin', 2);
    expect(await accountPurge.run(mesh.contextFor(erin), {})).toEqual({ objectsRemoved: 2 });
    // What the files service answers for a uid that has no user row any more: an empty list.
    expect(await mesh.filesFor(erin).list()).toEqual({ objects: [] });
    expect(await accountPurge.run(mesh.contextFor(erin), {})).toEqual({ objectsRemoved: 0 });
    expect(await rowsOf(erin)).toMatchObject({ user_sessions: 0, file_objects: 0 });
  });

  it('completes on a re-run after crashing half-way through the objects', async () => {
    const frank = await seed('frank', 5);
    let deletes = 0;
    const crashing = mesh.contextFor(frank, {
      files: (real) => ({
        ...real,
        remove: async (name) => {
          if (deletes === 2) throw new Error('worker killed');
          deletes += 1;
          return real.remove(name);
        },
      }),
    });
    await expect(accountPurge.run(crashing, {})).rejects.toThrow('worker killed');
    expect(mesh.blobsOf(frank)).toHaveLength(3);
    expect(await rowsOf(frank)).toMatchObject({ user_sessions: 1, file_objects: 3, notebooks: 1 });

    expect(await accountPurge.run(mesh.contextFor(frank), {})).toEqual({ objectsRemoved: 3 });
    expect(mesh.blobsOf(frank)).toEqual([]);
    for (const [table, n] of Object.entries(await rowsOf(frank))) expect([table, n]).toEqual([table, 0]);
  });

  it('stops before deleting anything more once aborted', async () => {
    const gina = await seed('gina', 3);
    const controller = new AbortController();
    controller.abort();
    await expect(
      accountPurge.run(mesh.contextFor(gina, { signal: controller.signal }), {}),
    ).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(await rowsOf(gina)).toMatchObject({ user_sessions: 1, file_objects: 3 });
  });
});

describe('clients', () => {
  it('turns a non-2xx answer into an UpstreamError carrying the problem code', async () => {
    const uid = await mesh.newUser('errors');
    const files = mesh.filesFor(uid);
    await expect(files.download('missing.txt')).rejects.toMatchObject({
      name: 'UpstreamError',
      service: 'files',
      status: 404,
      code: 'not_found',
    });
    await expect(
      files.upload('tab\there', Readable.from([Buffer.from('x')]), 'text/plain'),
    ).rejects.toMatchObject({
      status: 400,
      code: 'invalid_object_name',
    });
    const events = createEventsClient({ baseUrl: mesh.eventsUrl, ring: mesh.jobsRings.events, uid });
    await expect(events.publish('Not A Type', {})).rejects.toMatchObject({
      service: 'events',
      status: 400,
      code: 'validation_failed',
    });
    await expect(events.publish('x.y', { blob: 'x'.repeat(17 * 1024) })).rejects.toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
  });

  it('streams an upload and stops it on an early refusal (413 payload_too_large mid-body)', async () => {
    const uid = await mesh.newUser('toolarge');
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 64 * 1024;
        this.push(randomBytes(64 * 1024));
      },
    });
    await expect(
      mesh.filesFor(uid).upload('huge.bin', endless, 'application/octet-stream'),
    ).rejects.toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
    expect(endless.destroyed).toBe(true);
    expect(produced).toBeLessThan(64 * 1024 * 1024);
    expect(await mesh.filesFor(uid).list()).toEqual({ objects: [] });
  });

  it('answers false when removing an object that is already gone', async () => {
    const uid = await userWithObjects('gone', { 'x.txt': Buffer.from('x') });
    const files = mesh.filesFor(uid);
    expect(await files.remove('x.txt')).toBe(true);
    expect(await files.remove('x.txt')).toBe(false);
  });

  it('round-trips names that need percent-encoding as one path segment', async () => {
    const uid = await mesh.newUser('names');
    const files = mesh.filesFor(uid);
    for (const name of ['a b#c?d%e&f.txt', 'ünïcødé 日本.txt', "it's (1).txt"]) {
      const stored = await files.upload(name, Readable.from([Buffer.from(name)]), 'text/plain');
      expect(stored.name).toBe(name);
      expect((await readAll(await files.download(name))).toString()).toBe(name);
    }
    await expect(files.download('..')).rejects.toThrow(TypeError);
  });

  it('speaks for its uid only: tokens are jobs→files, and another namespace is out of reach', async () => {
    const alice = await userWithObjects('a', { 'mine.txt': Buffer.from('a') });
    const bob = await userWithObjects('b', { 'bobs.txt': Buffer.from('b') });
    expect((await mesh.filesFor(alice).list()).objects.map((o) => o.name)).toEqual(['mine.txt']);
    // The same client built with any ring but jobs→files is refused: files verifies it as a jobs token.
    const wrongRing = { signingKey: () => ({ kid: 'k1', key: mesh.jobsRings.events.signingKey().key }) };
    await expect(
      createFilesClient({ baseUrl: mesh.filesUrl, ring: wrongRing, uid: alice }).list(),
    ).rejects.toMatchObject({ status: 401, code: 'token_invalid' });
    // A token jobs minted for Alice, aimed at Bob's namespace: the files service refuses it.
    const token = mintUserToken({
      issuer: 'jobs',
      audience: 'files',
      uid: alice,
      ring: mesh.jobsRings.files,
    });
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(`${mesh.filesUrl}/objects/${bob}/bobs.txt`, { headers: { 'X-User-Token': token } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(403);
  });
});

describe('a worker’s job events, through the real events service', () => {
  it('delivers job.succeeded for every job to its owner’s stream only, in batches, in order, signed by jobs', async () => {
    const echo = defineJobType({
      type: 'test.echo',
      payload: z.object({ n: z.number().int() }).strict(),
      userCreatable: true,
      maxAttempts: 1,
      lockTimeoutSeconds: 60,
      backoff: { baseMs: 10, maxMs: 10 },
      // A large result for n = 0: left out of the event (the job row keeps it).
      run: async (_ctx, payload) => (payload.n === 0 ? { n: 0, big: 'x'.repeat(9000) } : { n: payload.n }),
    });
    const alice = await mesh.newUser('events-alice');
    const bob = await mesh.newUser('events-bob');
    const aliceStream = mesh.streamOf(alice);
    const bobStream = mesh.streamOf(bob);
    const perUser = 60;
    const ids = new Map<string, string>();
    for (let n = 0; n < perUser; n += 1) {
      for (const uid of [alice, bob]) {
        const [row] = await mesh.owner.sql<{ id: string }[]>`
          insert into jobs (user_id, type, payload, max_attempts, lock_timeout_seconds)
          values (${uid}, 'test.echo', ${mesh.owner.sql.json({ n })}, 1, 60) returning id`;
        ids.set(row!.id, uid);
      }
    }
    const worker = new Worker({
      database: mesh.runtime,
      logger: createLogger({ service: 'jobs', level: 'warn' }),
      metrics: createJobsMetrics(createMetrics({ service: 'jobs' }), async () => [], ['test.echo']),
      types: new Map([['test.echo', echo as never]]),
      concurrency: 8,
      prefetch: 8,
      pollIntervalMs: 100,
      heartbeatMs: 200,
      reapIntervalMs: 1000,
      upstreams: {
        filesUrl: mesh.filesUrl,
        eventsUrl: mesh.eventsUrl,
        filesRing: mesh.jobsRings.files,
        eventsRing: mesh.jobsRings.events,
      },
    });
    await worker.start();
    try {
      const succeeded = (stream: typeof aliceStream) =>
        stream.events.filter((e) => e.event === 'job.succeeded').map((e) => JSON.parse(e.data));
      await waitUntil(
        () => succeeded(aliceStream).length >= perUser && succeeded(bobStream).length >= perUser,
        15_000,
      );
      for (const [uid, stream] of [
        [alice, aliceStream],
        [bob, bobStream],
      ] as const) {
        const got = succeeded(stream);
        expect(got).toHaveLength(perUser);
        expect(new Set(got.map((e) => e.jobId)).size).toBe(perUser);
        for (const event of got) expect(ids.get(event.jobId)).toBe(uid); // nobody else's jobs
        const big = got.find((e) => e.resultOmitted);
        expect(big).toEqual({ jobId: expect.any(String), type: 'test.echo', resultOmitted: true });
        for (const event of got.filter((e) => !e.resultOmitted))
          expect(event.result).toEqual({ n: expect.any(Number) });
        // Stream ids are the user's dense seqs, in order.
        const seqs = stream.events.map((e) => Number(e.id));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      // Batched: many events per publish transaction (same created_at = same transaction's now()).
      const [batches] = await mesh.owner.sql<{ posts: number }[]>`
        select count(distinct created_at)::int as posts from events where user_id = ${alice} and type = 'job.succeeded'`;
      expect(batches!.posts).toBeLessThan(perUser);
    } finally {
      await worker.stop(2000);
    }
  });
});
