import type { Router } from 'express';
import express from 'express';
import { AppError } from './errors';
import { sendProblem } from './problem';

/** A dependency check for /readyz: resolves when the dependency answers. */
export type ReadinessCheck = () => Promise<unknown>;

const CHECK_TIMEOUT_MS = 2000;

/**
 * /healthz says the process is alive (liveness: restart me if this fails).
 * /readyz says its dependencies answer (readiness: send me traffic only if this passes).
 * Failing checks are named, but their error messages stay out of the response.
 */
export function healthRoutes(checks: Record<string, ReadinessCheck>): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check)] as const),
    );
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    if (failing.length) {
      sendProblem(res, new AppError('service_unavailable', `not ready: ${failing.join(', ')}`, { failing }));
      return;
    }
    res.json({ status: 'ready', checks: Object.fromEntries(results.map(([name]) => [name, 'ok'])) });
  });
  return router;
}

async function runCheck(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
