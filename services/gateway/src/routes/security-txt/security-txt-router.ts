import express, { type Router } from 'express';
import { renderSecurityTxt, type SecurityTxt } from './security-txt';

/** GET /.well-known/security.txt: where to report a vulnerability (RFC 9116). */
export function securityTxtRouter(txt: SecurityTxt): Router {
  const body = renderSecurityTxt(txt);
  const router = express.Router();
  router.get('/.well-known/security.txt', (_req, res) => {
    res.type('text/plain; charset=utf-8').send(body);
  });
  return router;
}
