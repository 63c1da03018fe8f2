import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { startWebMesh, type WebMesh } from './support/web-mesh';

/**
 * The web client's whole story in headless Chromium (Debian's, driven by playwright-core), through
 * the real edge (nginx, TLS) and gateway to real auth, files, events and jobs. Screenshots of every
 * step land in test-results/web-client/ (CI keeps test-results/ as an artifact).
 */
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '../../../test-results/web-client');
const STEP_MS = 20_000;

const ALICE = { sub: 'web-alice', email: 'alice@example.test', name: 'Alice Web' };
const BOB = { sub: 'web-bob', email: 'bob@example.test', name: 'Bob Web' };
const HOSTILE = '<img src=x onerror=alert(1)>.txt';

interface Watched {
  page: Page;
  /** CSP violations and uncaught page errors: the app must have none. */
  problems: string[];
  /** Dialogs the page opened (alert/confirm): an injected script would open one. */
  dialogs: string[];
}

async function openPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
      problems.push(message.text());
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { page, problems, dialogs };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(mesh: WebMesh, context: BrowserContext, who: typeof ALICE): Promise<Watched> {
  mesh.provider.signInAs(who);
  const watched = await openPage(context);
  const { page } = watched;
  await page.goto(`${mesh.origin}/`);
  await page.locator('#signed-out a[data-provider="google"]').click();
  await page.locator('#signed-in').waitFor({ state: 'visible' });
  await page.locator('#whoami', { hasText: who.name }).waitFor();
  await page.locator('#events-status', { hasText: /live/i }).waitFor();
  return watched;
}

async function upload(page: Page, name: string, body: string): Promise<void> {
  await page
    .locator('#file-input')
    .setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(body) });
  await page.locator('#upload-button').click();
  await page.locator('#files-list li').filter({ hasText: name }).first().waitFor();
}

describe('the web client in a real browser, through the edge and the gateway', () => {
  let mesh: WebMesh;
  let browser: Browser;

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    mesh = await startWebMesh();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await mesh?.stop();
  });

  it('signs in, uploads and lists, exports with live progress, signs out — and the API then refuses', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
    try {
      const { page, problems, dialogs } = await signIn(mesh, context, ALICE);
      await shot(page, '01-signed-in');
      await page.locator('#whoami', { hasText: ALICE.email }).waitFor();

      await upload(page, 'hello.txt', 'hello from the browser\n');
      // A hostile name is shown as text: no element made from it, no script run.
      await upload(page, HOSTILE, 'just text\n');
      const listed = page.locator('#files-list li').filter({ hasText: HOSTILE });
      expect(await listed.locator('img').count()).toBe(0);
      expect(await page.locator('#files-list img').count()).toBe(0);
      expect(await page.locator('#upload-progress').evaluate((p) => (p as { value: number }).value)).toBe(
        100,
      );
      await shot(page, '02-uploaded');

      // An API refusal reads as a message: a name the files service refuses (trailing space).
      await page.locator('#file-input').setInputFiles({
        name: 'trailing space ',
        mimeType: 'text/plain',
        buffer: Buffer.from('x'),
      });
      await page.locator('#upload-button').click();
      await page.locator('#error', { hasText: 'invalid_object_name' }).waitFor();
      expect(await page.locator('#error').textContent()).toMatch(/refused: invalid_object_name — .+/);
      await shot(page, '02b-refused');
      expect(await page.locator('#files-list li').filter({ hasText: 'trailing space' }).count()).toBe(0);

      // The download link serves the stored bytes.
      const href = await page
        .locator('#files-list li')
        .filter({ hasText: 'hello.txt' })
        .locator('a.download')
        .getAttribute('href');
      const downloaded = await page.request.get(new URL(href!, mesh.origin).toString());
      expect(downloaded.status()).toBe(200);
      expect(await downloaded.text()).toBe('hello from the browser\n');

      // Export: the job runs in the jobs service, its progress arrives over SSE, then the link.
      await page.locator('#export-button').click();
      await page
        .locator('#events-log li[data-event-type="job.progress"]')
        .first()
        .waitFor({ timeout: STEP_MS });
      await page.locator('#export-link').waitFor({ state: 'visible', timeout: STEP_MS });
      await shot(page, '03-exported');
      const exportHref = await page.locator('#export-link').getAttribute('href');
      expect(exportHref).toMatch(/^\/api\/files\/export-/);
      const zip = await page.request.get(new URL(exportHref!, mesh.origin).toString());
      expect(zip.status()).toBe(200);
      expect((await zip.body()).subarray(0, 2).toString('latin1')).toBe('PK');
      const progress = await page.locator('#export-progress').evaluate((p) => (p as { value: number }).value);
      expect(progress).toBe(100);

      // Delete one file from the list: gone from the page and from the API.
      await upload(page, 'scratch.txt', 'to be deleted\n');
      await page
        .locator('#files-list li')
        .filter({ hasText: 'scratch.txt' })
        .locator('button.delete')
        .click();
      await page.locator('#files-list li').filter({ hasText: 'scratch.txt' }).waitFor({ state: 'detached' });
      expect((await page.request.get(`${mesh.origin}/api/files/scratch.txt`)).status()).toBe(404);

      // Sign out: the page shows the signed-out view and the API refuses the old session.
      await page.locator('#sign-out-button').click();
      await page.locator('#signed-out').waitFor({ state: 'visible' });
      await shot(page, '04-signed-out');
      expect((await page.request.get(`${mesh.origin}/api/me`)).status()).toBe(401);
      expect((await page.request.get(`${mesh.origin}/api/files`)).status()).toBe(401);

      expect(problems).toEqual([]);
      expect(dialogs).toEqual([]);
    } catch (error) {
      process.stderr.write(`${mesh.output().slice(-6000)}\n`);
      throw error;
    } finally {
      await context.close();
    }
  }, 120_000);

  it('another user in another browser context sees none of the first user’s files or events', async () => {
    const aliceContext = await browser.newContext({ ignoreHTTPSErrors: true });
    const bobContext = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const alice = await signIn(mesh, aliceContext, ALICE);
      const bob = await signIn(mesh, bobContext, BOB);
      await upload(alice.page, 'alice-only.txt', 'secret of alice\n');
      await alice.page.locator('#export-button').click();
      await alice.page.locator('#export-link').waitFor({ state: 'visible', timeout: STEP_MS });

      // Bob, live the whole time: his list is empty, his stream saw nothing of Alice's.
      await bob.page.reload();
      await bob.page.locator('#signed-in').waitFor({ state: 'visible' });
      await bob.page.locator('#events-status', { hasText: /live/i }).waitFor();
      await shot(bob.page, '05-other-user');
      expect(await bob.page.locator('#files-list li').count()).toBe(0);
      expect(await bob.page.locator('#events-log li').count()).toBe(0);
      const probe = await bob.page.request.get(`${mesh.origin}/api/files/alice-only.txt`);
      expect(probe.status()).toBe(404);
      const list = await (await bob.page.request.get(`${mesh.origin}/api/files`)).json();
      expect(list.objects).toEqual([]);

      // Bob deletes his account: the confirmation shows the purge date first.
      await bob.page.locator('#delete-account-button').click();
      const dialog = bob.page.locator('dialog#delete-dialog');
      await dialog.waitFor({ state: 'visible' });
      // Today + the account's purge window (30 days), as the browser writes dates.
      const expected = await bob.page.evaluate(() =>
        new Date(Date.now() + 30 * 86_400_000).toLocaleDateString(undefined, {
          year: 'numeric',
          month: 'long',
          day: 'numeric',
        }),
      );
      expect(await bob.page.locator('#purge-date').textContent()).toBe(expected);
      await shot(bob.page, '06-delete-confirmation');
      await bob.page.locator('#confirm-delete').click();
      await bob.page.locator('#deleted-notice').waitFor({ state: 'visible' });
      expect(await bob.page.locator('#deleted-notice').textContent()).toContain(expected);
      await shot(bob.page, '07-deleted');
      expect((await bob.page.request.get(`${mesh.origin}/api/me`)).status()).toBe(401);

      for (const w of [alice, bob]) {
        expect(w.problems).toEqual([]);
        expect(w.dialogs).toEqual([]);
      }
    } catch (error) {
      process.stderr.write(`${mesh.output().slice(-6000)}\n`);
      throw error;
    } finally {
      await aliceContext.close();
      await bobContext.close();
    }
  }, 120_000);
});
