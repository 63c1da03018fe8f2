import path from 'node:path';
import express, { type Router } from 'express';

/**
 * The web client (packages/web's build) at `/`: index.html is revalidated on every load, the
 * content-hashed files under /assets/ are cached for a year. Only GET and HEAD, only for files
 * that exist; /api and /auth never reach it. It runs under the gateway's CSP (no inline script
 * or style) like everything else the gateway answers.
 */
export function webClientRouter(root: string): Router {
  const router = express.Router();
  const files = express.static(root, {
    index: 'index.html',
    redirect: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders: (res, file) => {
      const immutable = path.relative(root, file).startsWith(`assets${path.sep}`);
      res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  router.use((req, res, next) => {
    if (req.path.startsWith('/api/') || req.path === '/api' || req.path.startsWith('/auth')) {
      next();
      return;
    }
    files(req, res, next);
  });
  return router;
}
