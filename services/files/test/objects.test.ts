import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { rewrapDataKeys } from '../src/domain/rewrap-data-keys';
import { createFilesContext, type FilesContext } from './support/files-context';

/** Every file under a directory, recursively (the store's root, to look at what really landed on disk). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('files service: objects', () => {
  let ctx: FilesContext;
  let alice: string;
  let bob: string;
  const storeRoot = () => path.join(ctx.root, 'store');

  beforeAll(async () => {
    ctx = await createFilesContext();
    alice = await ctx.newUser('alice');
    bob = await ctx.newUser('bob');
  });
  afterAll(async () => {
    await ctx.close();
  });

  const put = (uid: string, name: string, body: Buffer | string, type = 'application/octet-stream') =>
    request(ctx.app)
      .put(`/objects/${uid}/${name}`)
      .set('X-User-Token', ctx.tokenFor(uid))
      .type(type)
      .send(body);
  const get = (uid: string, name: string) =>
    request(ctx.app)
      .get(`/objects/${uid}/${name}`)
      .set('X-User-Token', ctx.tokenFor(uid))
      .buffer(true)
      .parse(rawBody);

  it('stores, lists, reads back and deletes an object, with metadata rows that match', async () => {
    const body = randomBytes(10_000);
    const created = await put(alice, 'report.bin', body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'report.bin',
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      contentType: 'application/octet-stream',
    });
    expect(created.headers.etag).toBe(`"${created.body.sha256}"`);

    const read = await get(alice, 'report.bin');
    expect(read.status).toBe(200);
    expect(Buffer.compare(read.body, body)).toBe(0);
    expect(read.headers['content-length']).toBe(String(body.length));

    const list = await request(ctx.app).get(`/objects/${alice}/`).set('X-User-Token', ctx.tokenFor(alice));
    expect(list.status).toBe(200);
    expect(list.body.objects.map((o: { name: string }) => o.name)).toEqual(['report.bin']);
    expect(list.body.usage).toEqual({ bytes: body.length, quotaBytes: ctx.deps.limits.quotaBytes });

    const removed = await request(ctx.app)
      .delete(`/objects/${alice}/report.bin`)
      .set('X-User-Token', ctx.tokenFor(alice));
    expect(removed.status).toBe(204);
    expect((await get(alice, 'report.bin')).status).toBe(404);
    const rows = await ctx.owner.sql`select 1 from file_objects where user_id = ${alice}`;
    expect(rows.length).toBe(0);
    expect(filesUnder(path.join(storeRoot(), alice))).toEqual([]);
  });

  it('refuses any path outside the caller’s namespace with 403 before touching storage or the database', async () => {
    await put(bob, 'secret.txt', 'bob only', 'text/plain');
    const before = filesUnder(storeRoot()).sort();
    const rowsBefore = await ctx.owner.sql`select id, name, size from file_objects order by id`;
    const asAlice = ctx.tokenFor(alice);
    for (const [method, url] of [
      ['get', `/objects/${bob}/secret.txt`],
      ['head', `/objects/${bob}/secret.txt`],
      ['put', `/objects/${bob}/secret.txt`],
      ['delete', `/objects/${bob}/secret.txt`],
      ['get', `/objects/${bob}/`],
      ['get', `/objects/${bob.toUpperCase()}/secret.txt`],
      [
        'get',
        `/objects/${encodeURIComponent(bob).replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`)}/secret.txt`,
      ],
      ['get', `/objects/${alice}x/secret.txt`],
      ['get', `/objects/..%2f${bob}/secret.txt`],
    ] as const) {
      const res = await request(ctx.app)
        [method](url)
        .set('X-User-Token', asAlice)
        .send(method === 'put' ? 'overwrite' : undefined);
      expect({ url, method, status: res.status }).toEqual({ url, method, status: 403 });
      if (method !== 'head') expect(res.body.code).toBe('foreign_namespace');
    }
    expect(filesUnder(storeRoot()).sort()).toEqual(before);
    expect(await ctx.owner.sql`select id, name, size from file_objects order by id`).toEqual(rowsBefore);
    expect((await get(bob, 'secret.txt')).body.toString()).toBe('bob only');
  });

  it('accepts the jobs service’s token for the job’s uid, and only for that uid', async () => {
    await put(alice, 'for-export.txt', 'export me', 'text/plain');
    const ok = await request(ctx.app)
      .get(`/objects/${alice}/for-export.txt`)
      .set('X-User-Token', ctx.tokenFor(alice, 'jobs'));
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('export me');
    const other = await request(ctx.app)
      .get(`/objects/${bob}/`)
      .set('X-User-Token', ctx.tokenFor(alice, 'jobs'));
    expect(other.status).toBe(403);
  });

  it('needs a token: 401 without one', async () => {
    const res = await request(ctx.app).get(`/objects/${alice}/`);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('token_invalid');
  });

  it('replaces an object under the same name (200), keeping one row and one stored blob', async () => {
    expect((await put(alice, 'notes.txt', 'v1', 'text/plain')).status).toBe(201);
    const first = await ctx.owner.sql<
      { created_at: Date }[]
    >`select created_at from file_objects where user_id = ${alice} and name = 'notes.txt'`;
    const second = await put(alice, 'notes.txt', 'version two', 'text/plain');
    expect(second.status).toBe(200);
    expect((await get(alice, 'notes.txt')).body.toString()).toBe('version two');
    const rows = await ctx.owner.sql<{ id: string; created_at: Date }[]>`
      select id, created_at from file_objects where user_id = ${alice} and name = 'notes.txt'`;
    expect(rows.length).toBe(1);
    expect(rows[0]!.created_at).toEqual(first[0]!.created_at);
    const blobs = filesUnder(path.join(storeRoot(), alice)).map((f) => path.basename(f));
    expect(blobs).toContain(rows[0]!.id);
    await expectStorageMatchesRows(alice);
  });

  it('normalises names to NFC, so two spellings of one name are one object', async () => {
    const composed = 'caf\u00e9.txt';
    const decomposed = 'cafe\u0301.txt';
    expect((await put(alice, encodeURIComponent(decomposed), 'one', 'text/plain')).status).toBe(201);
    const again = await put(alice, encodeURIComponent(composed), 'two', 'text/plain');
    expect(again.status).toBe(200);
    expect(again.body.name).toBe(composed);
    expect((await get(alice, encodeURIComponent(decomposed))).body.toString()).toBe('two');
  });

  it('serves ranges, ETags and If-None-Match', async () => {
    const body = randomBytes(20_000); // several 4 KiB chunks
    const stored = await put(alice, 'ranged.bin', body);
    const etag = String(stored.headers.etag);
    const token = ctx.tokenFor(alice);
    const ranged = async (range: string) =>
      request(ctx.app)
        .get(`/objects/${alice}/ranged.bin`)
        .set('X-User-Token', token)
        .set('Range', range)
        .buffer(true)
        .parse(rawBody);
    const middle = await ranged('bytes=4000-12345');
    expect(middle.status).toBe(206);
    expect(middle.headers['content-range']).toBe(`bytes 4000-12345/${body.length}`);
    expect(Buffer.compare(middle.body, body.subarray(4000, 12346))).toBe(0);
    const tail = await ranged('bytes=-10');
    expect(Buffer.compare(tail.body, body.subarray(body.length - 10))).toBe(0);
    const open = await ranged('bytes=19999-');
    expect(Buffer.compare(open.body, body.subarray(19999))).toBe(0);
    const outside = await ranged('bytes=20000-20010');
    expect(outside.status).toBe(416);
    expect(outside.headers['content-range']).toBe(`bytes */${body.length}`);
    const full = await ranged('bytes=0-1,5-6'); // several ranges: the whole object instead
    expect(full.status).toBe(200);
    const staleIfRange = await request(ctx.app)
      .get(`/objects/${alice}/ranged.bin`)
      .set('X-User-Token', token)
      .set('Range', 'bytes=0-9')
      .set('If-Range', '"stale"')
      .buffer(true)
      .parse(rawBody);
    expect(staleIfRange.status).toBe(200);

    const cached = await request(ctx.app)
      .get(`/objects/${alice}/ranged.bin`)
      .set('X-User-Token', token)
      .set('If-None-Match', etag);
    expect(cached.status).toBe(304);
    const changed = await request(ctx.app)
      .get(`/objects/${alice}/ranged.bin`)
      .set('X-User-Token', token)
      .set('If-None-Match', '"other"');
    expect(changed.status).toBe(200);
    const head = await request(ctx.app).head(`/objects/${alice}/ranged.bin`).set('X-User-Token', token);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(body.length));
    expect(head.headers['accept-ranges']).toBe('bytes');
  });

  it('sends active types (HTML, SVG) as attachments, never sniffed, sandboxed', async () => {
    await put(alice, 'page.html', '<script>alert(1)</script>', 'text/html');
    await put(alice, 'pic.svg', '<svg onload="alert(1)"/>', 'image/svg+xml');
    await put(alice, 'plain.txt', 'hello', 'text/plain');
    for (const name of ['page.html', 'pic.svg']) {
      const res = await get(alice, name);
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename=/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    }
    expect((await get(alice, 'plain.txt')).headers['content-disposition']).toMatch(
      /^inline; filename="plain.txt"/,
    );
  });

  it('refuses an object over the size limit with 413, declared or streamed, and stores nothing', async () => {
    const small = await createFilesContext({ limits: { maxObjectBytes: 50_000, quotaBytes: 1_000_000 } });
    try {
      const uid = await small.newUser();
      const declared = await request(small.app)
        .put(`/objects/${uid}/big.bin`)
        .set('X-User-Token', small.tokenFor(uid))
        .type('application/octet-stream')
        .send(randomBytes(60_000));
      expect(declared.status).toBe(413);
      expect(declared.body.code).toBe('payload_too_large');
      // Chunked, without Content-Length: caught while streaming.
      const streamed = await rawPut(small, uid, 'big.bin', [randomBytes(30_000), randomBytes(30_000)]);
      expect(streamed.status).toBe(413);
      expect(JSON.parse(streamed.body).code).toBe('payload_too_large');
      expect(await small.owner.sql`select 1 from file_objects`).toHaveLength(0);
      expect(filesUnder(path.join(small.root, 'store'))).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('enforces the per-user quota (413 quota_exceeded), counting the object a replace would free', async () => {
    const small = await createFilesContext({ limits: { maxObjectBytes: 50_000, quotaBytes: 100_000 } });
    try {
      const uid = await small.newUser();
      const other = await small.newUser();
      const putTo = (who: string, name: string, n: number) =>
        request(small.app)
          .put(`/objects/${who}/${name}`)
          .set('X-User-Token', small.tokenFor(who))
          .type('application/octet-stream')
          .send(randomBytes(n));
      expect((await putTo(uid, 'a', 45_000)).status).toBe(201);
      expect((await putTo(uid, 'b', 45_000)).status).toBe(201);
      const over = await putTo(uid, 'c', 20_000);
      expect(over.status).toBe(413);
      expect(over.body.code).toBe('quota_exceeded');
      const streamed = await rawPut(small, uid, 'c', [randomBytes(15_000), randomBytes(15_000)]);
      expect(JSON.parse(streamed.body).code).toBe('quota_exceeded');
      // Replacing b with a bigger version fits: the old b no longer counts.
      expect((await putTo(uid, 'b', 50_000)).status).toBe(200);
      // Quotas are per user.
      expect((await putTo(other, 'c', 45_000)).status).toBe(201);
      expect(await storedBytes(small, uid)).toBe(95_000);
      await expectStorageMatchesRows(uid, small);
    } finally {
      await small.close();
    }
  });

  it('refuses one of two concurrent uploads that each fit the quota but not together', async () => {
    const small = await createFilesContext({ limits: { maxObjectBytes: 80_000, quotaBytes: 100_000 } });
    try {
      const uid = await small.newUser();
      const server = await listen(small);
      try {
        // Both pass the early quota check (nothing stored yet), then finish together: the commit's
        // re-check under the namespace lock must refuse the second.
        const starts = ['one.bin', 'two.bin'].map((name) => startPut(server.port, small, uid, name, 60_000));
        for (const s of starts) s.write(randomBytes(30_000));
        await new Promise((r) => setTimeout(r, 300));
        for (const s of starts) s.end(randomBytes(30_000));
        const answers = await Promise.all(starts.map((s) => s.done));
        expect(answers.map((r) => r.status).sort()).toEqual([201, 413]);
        const refused = answers.find((r) => r.status === 413)!;
        expect(JSON.parse(refused.body).code).toBe('quota_exceeded');
      } finally {
        await server.close();
      }
      expect(await storedBytes(small, uid)).toBe(60_000);
      await expectStorageMatchesRows(uid, small);
    } finally {
      await small.close();
    }
  });

  it('keeps storage and metadata consistent when the client drops the connection mid-upload', async () => {
    const uid = await ctx.newUser('dropper');
    await put(uid, 'keep.txt', 'already here', 'text/plain');
    await abortedPut(ctx, uid, 'keep.txt', 200_000, 50_000); // a replace, dropped
    await abortedPut(ctx, uid, 'new.bin', 200_000, 50_000); // a new object, dropped
    await waitFor(
      async () => (await ctx.owner.sql`select name from file_objects where user_id = ${uid}`).length === 1,
    );
    const list = await request(ctx.app).get(`/objects/${uid}/`).set('X-User-Token', ctx.tokenFor(uid));
    expect(list.body.objects.map((o: { name: string }) => o.name)).toEqual(['keep.txt']);
    expect((await get(uid, 'keep.txt')).body.toString()).toBe('already here');
    await waitFor(async () => filesUnder(path.join(storeRoot(), uid)).length === 1);
    await expectStorageMatchesRows(uid);
  });

  it('keeps one object when two uploads to the same name race, and it is one of the two', async () => {
    const uid = await ctx.newUser('racer');
    const a = randomBytes(150_000);
    const b = randomBytes(150_000);
    const results = await Promise.all([put(uid, 'race.bin', a), put(uid, 'race.bin', b)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 201]);
    const read = await get(uid, 'race.bin');
    expect([a, b].some((x) => Buffer.compare(x, read.body) === 0)).toBe(true);
    await expectStorageMatchesRows(uid);
  });

  it('stores no plaintext: the raw bytes on disk hold none of the uploaded content', async () => {
    const uid = await ctx.newUser('plain');
    const marker = 'TENANTMESH-PLAINTEXT-MARKER-';
    const body = Buffer.from(marker.repeat(2000));
    await put(uid, 'marker.txt', body, 'text/plain');
    const [blob] = filesUnder(path.join(storeRoot(), uid));
    const raw = fs.readFileSync(blob!);
    expect(raw.length).toBeGreaterThan(body.length);
    expect(raw.includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
    expect(raw.includes(body.subarray(100, 116))).toBe(false);
  });

  describe('tampering with stored bytes', () => {
    let uid: string;
    let blob: string;
    let pristine: Buffer;
    const body = randomBytes(30_000);

    beforeAll(async () => {
      uid = await ctx.newUser('tamper');
      await put(uid, 't.bin', body);
      [blob] = filesUnder(path.join(storeRoot(), uid)) as [string];
      pristine = fs.readFileSync(blob);
    });
    afterEach(() => {
      fs.writeFileSync(blob, pristine);
    });

    const failures = () =>
      ctx.deps.metrics.registry.getSingleMetricAsString('tenantmesh_files_integrity_failures_total');

    it.each([
      ['a flipped bit in the first chunk', (b: Buffer) => flip(b, 20)],
      ['a flipped bit in the header', (b: Buffer) => flip(b, 2)],
      ['the stored object cut inside its header', (b: Buffer) => b.subarray(0, 5)],
      ['an empty stored object', () => Buffer.alloc(0)],
    ])('fails with 500 integrity_failure and no body on %s', async (_label, tamper) => {
      fs.writeFileSync(blob, tamper(Buffer.from(pristine)));
      const res = await get(uid, 't.bin');
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(JSON.parse(res.body.toString()).code).toBe('integrity_failure');
      expect(await failures()).toMatch(/tenantmesh_files_integrity_failures_total\{[^}]*\} [1-9]/);
      expect(ctx.logs.join('')).toContain('object integrity failure');
    });

    it.each([
      ['a flipped bit in a later chunk', (b: Buffer) => flip(b, b.length - 100)],
      ['two chunks swapped', (b: Buffer) => swapChunks(b, 1, 2)],
      ['the final chunk dropped', (b: Buffer) => b.subarray(0, 9 + 7 * (4096 + 16))],
    ])('cuts the download and never sends wrong bytes on %s', async (_label, tamper) => {
      fs.writeFileSync(blob, tamper(Buffer.from(pristine)));
      const got = await rawGet(ctx, uid, 't.bin');
      // Whatever arrived before the cut is a true prefix made of whole verified chunks.
      expect(got.complete).toBe(false);
      expect(Buffer.compare(got.body, body.subarray(0, got.body.length))).toBe(0);
      expect(got.body.length % 4096).toBe(0);
    });

    it('detects a wrapped data key moved onto another object', async () => {
      const other = await put(uid, 'other.bin', randomBytes(100));
      expect(other.status).toBe(201);
      await ctx.owner.sql`
        update file_objects set wrapped_key = (select wrapped_key from file_objects where user_id = ${uid} and name = 'other.bin')
        where user_id = ${uid} and name = 't.bin'`;
      const res = await get(uid, 't.bin');
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body.toString()).code).toBe('integrity_failure');
    });
  });

  it('re-wraps data keys after the master key rotates, without touching the stored bytes', async () => {
    // A context of its own: the gauge and the "every key re-wrapped" check look at all users.
    const ctx = await createFilesContext();
    const uid = await ctx.newUser('rotate');
    const put = (u: string, name: string, body: Buffer) =>
      request(ctx.app)
        .put(`/objects/${u}/${name}`)
        .set('X-User-Token', ctx.tokenFor(u))
        .type('application/octet-stream')
        .send(body);
    const get = (u: string, name: string) =>
      request(ctx.app)
        .get(`/objects/${u}/${name}`)
        .set('X-User-Token', ctx.tokenFor(u))
        .buffer(true)
        .parse(rawBody);
    try {
      const body = randomBytes(9000);
      await put(uid, 'r.bin', body);
      await put(await ctx.newUser('second'), 's.bin', randomBytes(10));
      const [blob] = filesUnder(path.join(ctx.root, 'store', uid));
      const rawBefore = fs.readFileSync(blob!);
      const ringFile = path.join(ctx.secrets.dir, 'files_master_keys');
      const old = JSON.parse(fs.readFileSync(ringFile, 'utf8')).keys;
      const fresh = { kid: 'm2', key: randomBytes(32).toString('base64') };
      fs.writeFileSync(ringFile, JSON.stringify({ keys: [...old, fresh] }));
      expect(ctx.deps.masterKeys.reload()).toBe(true);
      expect(await rewrapDataKeys(ctx.deps)).toBeGreaterThanOrEqual(1);
      const kids = await ctx.owner.sql<{ key_kid: string }[]>`select distinct key_kid from file_objects`;
      expect(kids.map((k) => k.key_kid)).toEqual(['m2']);
      expect(Buffer.compare(fs.readFileSync(blob!), rawBefore)).toBe(0);
      // The old master key can now leave the ring: everything still reads.
      fs.writeFileSync(ringFile, JSON.stringify({ keys: [fresh] }));
      expect(ctx.deps.masterKeys.reload()).toBe(true);
      expect(Buffer.compare((await get(uid, 'r.bin')).body, body)).toBe(0);
      const gauge = await ctx.deps.metrics.registry.getSingleMetricAsString('tenantmesh_files_keys_wrapped');
      expect(gauge).toMatch(/kid="m2"/);
      expect(gauge).not.toMatch(/kid="m1"/);
      expect(await rewrapDataKeys(ctx.deps)).toBe(0);
    } finally {
      await ctx.close();
    }
  });

  async function expectStorageMatchesRows(uid: string, c: FilesContext = ctx) {
    const rows = await c.owner.sql<{ id: string }[]>`select id from file_objects where user_id = ${uid}`;
    const blobs = filesUnder(path.join(c.root, 'store', uid)).map((f) => path.basename(f));
    expect(blobs.sort()).toEqual(rows.map((r) => r.id).sort());
  }
});

function rawBody(res: request.Response, done: (err: Error | null, body: unknown) => void) {
  const chunks: Buffer[] = [];
  const stream = res as unknown as NodeJS.ReadableStream;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}

async function storedBytes(ctx: FilesContext, uid: string): Promise<number> {
  const [row] = await ctx.owner.sql<
    { sum: string }[]
  >`select sum(size) from file_objects where user_id = ${uid}`;
  return Number(row?.sum);
}

function flip(b: Buffer, at: number): Buffer {
  b[at] = (b[at] ?? 0) ^ 0x01;
  return b;
}

function swapChunks(b: Buffer, i: number, j: number): Buffer {
  const size = 4096 + 16;
  const at = (k: number) => 9 + k * size;
  const ci = Buffer.from(b.subarray(at(i), at(i) + size));
  b.copy(b, at(i), at(j), at(j) + size);
  ci.copy(b, at(j));
  return b;
}

async function listen(ctx: FilesContext): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(ctx.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A chunked PUT (no Content-Length), so limits are enforced while streaming. */
async function rawPut(ctx: FilesContext, uid: string, name: string, parts: Buffer[]) {
  const server = await listen(ctx);
  try {
    return await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          port: server.port,
          host: '127.0.0.1',
          method: 'PUT',
          path: `/objects/${uid}/${name}`,
          headers: { 'X-User-Token': ctx.tokenFor(uid), 'Content-Type': 'application/octet-stream' },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      for (const part of parts) req.write(part);
      req.end();
    });
  } finally {
    await server.close();
  }
}

/** A PUT declaring `total` bytes whose body the caller writes; `done` settles with the answer. */
function startPut(port: number, ctx: FilesContext, uid: string, name: string, total: number) {
  let resolveDone: (r: { status: number; body: string }) => void = () => {};
  const done = new Promise<{ status: number; body: string }>((resolve) => {
    resolveDone = resolve;
  });
  const req = http.request(
    {
      port,
      host: '127.0.0.1',
      method: 'PUT',
      path: `/objects/${uid}/${name}`,
      headers: {
        'X-User-Token': ctx.tokenFor(uid),
        'Content-Length': String(total),
        'Content-Type': 'application/octet-stream',
      },
    },
    (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolveDone({ status: res.statusCode ?? 0, body }));
    },
  );
  req.on('error', () => resolveDone({ status: 0, body: '' }));
  return { write: (b: Buffer) => req.write(b), end: (b: Buffer) => req.end(b), done };
}

/** Declares `total` bytes, sends `sent`, then destroys the socket. */
async function abortedPut(ctx: FilesContext, uid: string, name: string, total: number, sent: number) {
  const server = await listen(ctx);
  try {
    await new Promise<void>((resolve) => {
      const req = http.request({
        port: server.port,
        host: '127.0.0.1',
        method: 'PUT',
        path: `/objects/${uid}/${name}`,
        headers: {
          'X-User-Token': ctx.tokenFor(uid),
          'Content-Length': String(total),
          'Content-Type': 'application/octet-stream',
        },
      });
      req.on('error', () => resolve());
      req.write(randomBytes(sent), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100),
      );
    });
  } finally {
    await server.close();
  }
}

async function rawGet(ctx: FilesContext, uid: string, name: string) {
  const server = await listen(ctx);
  try {
    return await new Promise<{ status: number; body: Buffer; complete: boolean }>((resolve) => {
      const chunks: Buffer[] = [];
      const req = http.get(
        {
          port: server.port,
          host: '127.0.0.1',
          path: `/objects/${uid}/${name}`,
          headers: { 'X-User-Token': ctx.tokenFor(uid) },
        },
        (res) => {
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete: res.complete }),
          );
          res.on('error', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete: false }),
          );
        },
      );
      req.on('error', () => resolve({ status: 0, body: Buffer.concat(chunks), complete: false }));
    });
  } finally {
    await server.close();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
