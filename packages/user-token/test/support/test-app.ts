import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '@tenantmesh/http-kit';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { type RequireUserOptions, requireUser, userIdOf } from '../../src';

/**
 * A service with one protected route that reports what it was given. The error handler stands in
 * for http-kit's problem+json renderer; anything that is not an AppError shows up as a 500 so a
 * test can never mistake a crash for a refusal.
 */
export function buildTestApp(options: RequireUserOptions): Express {
  const app = express();
  app.use(express.json());
  app.all('/whoami', requireUser(options), (_req, res) => {
    res.json({ uid: userIdOf(res), locals: Object.keys(res.locals) });
  });
  const renderError: ErrorRequestHandler = (err, _req, res, _next) => {
    if (err instanceof AppError) {
      res.status(err.status).json({ code: err.code, reason: err.extra.reason });
      return;
    }
    res.status(500).json({ code: 'internal' });
  };
  app.use(renderError);
  return app;
}

/** Sends raw header lines (so a header can really appear twice) over a real socket. */
export async function sendWithHeaders(
  app: Express,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/whoami', method: 'GET' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      });
      req.on('error', reject);
      for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
      req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
