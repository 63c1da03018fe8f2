import type { Agent, ServerResponse } from 'node:http';
import { AppError, sendProblem } from '@tenantmesh/http-kit';
import type { Logger } from '@tenantmesh/observability';
import type { Request, RequestHandler, Response } from 'express';
import {
  createProxyMiddleware,
  debugProxyErrorsPlugin,
  fixRequestBody,
  proxyEventsPlugin,
} from 'http-proxy-middleware';
import { sessionUidOf } from '../middleware/require-session';
import type { Upstream } from '../settings/upstream-settings';
import { scrubUpstreamResponse } from './scrub-upstream-response';

export interface UpstreamProxyOptions {
  upstream: Upstream;
  target: string;
  agent: Agent;
  logger: Logger;
  /** How long the upstream may take to start answering; undefined for streams (SSE). */
  timeoutMs?: number;
  /** Maps the public path (with its query) and the session's uid to the upstream's; identity when absent. */
  rewritePath?: (url: string, uid: string) => string;
  allowSetCookie: boolean;
  streaming: boolean;
}

/**
 * One upstream behind http-proxy-middleware: bodies and responses stream through (SSE included;
 * nothing here buffers or compresses), and a failure to reach the upstream is a 502 problem
 * rather than the library's plain-text page.
 */
export function createUpstreamProxy(options: UpstreamProxyOptions): RequestHandler {
  const { upstream, logger, rewritePath } = options;
  const proxy = createProxyMiddleware({
    target: options.target,
    agent: options.agent,
    changeOrigin: true,
    proxyTimeout: options.timeoutMs,
    pathRewrite: rewritePath
      ? (path, req) => rewritePath(path, sessionUidOf((req as Request).res as Response))
      : undefined,
    // Our own logger and error page instead of the defaults (console, text/plain). The debug plugin
    // stays: it keeps socket errors from crashing the process and closes an abandoned SSE upstream.
    ejectPlugins: true,
    plugins: [debugProxyErrorsPlugin, proxyEventsPlugin],
    on: {
      // createService parses JSON bodies before any route; put the parsed body back on the wire.
      proxyReq: fixRequestBody,
      proxyRes: (proxyRes, _req, res) => {
        scrubUpstreamResponse(proxyRes, res, options);
      },
      error: (error, req, res) => {
        logger.warn('upstream unreachable', {
          upstream,
          method: req.method,
          path: (req as Partial<Request>).originalUrl?.split('?')[0],
          code: (error as NodeJS.ErrnoException).code,
        });
        const response = res as ServerResponse;
        if (typeof response.writeHead !== 'function') return;
        if (response.headersSent) {
          // Mid-stream: too late for a problem document; cut it so the client sees the failure.
          response.destroy();
          return;
        }
        sendProblem(
          response as Response,
          new AppError('upstream_unavailable', `the ${upstream} service did not answer`),
        );
      },
    },
  });
  return proxy as unknown as RequestHandler;
}
