import { WEB_ROOT } from '@tenantmesh/web';
import { z } from 'zod';

/**
 * Where the built web client is (packages/web/dist, made by `pnpm build`); WEB_ROOT overrides it,
 * and `WEB_ROOT=off` serves no web client (an API-only gateway).
 */
export const webSettings = z
  .object({ WEB_ROOT: z.string().min(1).default(WEB_ROOT) })
  .transform((e) => ({ root: e.WEB_ROOT === 'off' ? undefined : e.WEB_ROOT }));
