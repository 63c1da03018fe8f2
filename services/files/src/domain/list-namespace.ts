import { withTenant } from '@tenantmesh/db';
import { listObjects } from '../db/queries/list-objects';
import { sumObjectBytes } from '../db/queries/sum-object-bytes';
import type { FilesDeps } from '../deps';
import { type ObjectMetadata, toMetadata } from './object-metadata';

export interface NamespacePage {
  objects: ObjectMetadata[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
  usage: { bytes: number; quotaBytes: number };
}

export async function listNamespace(
  deps: FilesDeps,
  args: { uid: string; after?: string; limit: number },
): Promise<NamespacePage> {
  const { uid } = args;
  return withTenant(deps.database.db, uid, async (trx) => {
    const rows = await listObjects(trx, { uid, after: args.after, limit: args.limit + 1 });
    const page = rows.slice(0, args.limit).map(toMetadata);
    const bytes = await sumObjectBytes(trx, { uid });
    return {
      objects: page,
      ...(rows.length > args.limit ? { next: page[page.length - 1]?.name } : {}),
      usage: { bytes, quotaBytes: deps.limits.quotaBytes },
    };
  });
}
