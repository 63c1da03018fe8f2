import { withTenant } from '@tenantmesh/db';
import type { JobsDeps } from '../deps';
import type { JobRow } from '../queue/queue-store';

export interface JobView {
  id: string;
  type: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  lastError: string | null;
  result: unknown;
}

type ViewRow = Pick<
  JobRow,
  | 'id'
  | 'type'
  | 'state'
  | 'attempts'
  | 'max_attempts'
  | 'run_at'
  | 'created_at'
  | 'updated_at'
  | 'finished_at'
  | 'last_error'
  | 'result'
>;

/** What a user may see of their job: never its payload internals' locks or the worker's id. */
export function toJobView(row: ViewRow): JobView {
  return {
    id: row.id,
    type: row.type,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAt: row.run_at.toISOString(),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    lastError: row.last_error,
    result: row.result ?? null,
  };
}

const COLUMNS = [
  'id',
  'type',
  'state',
  'attempts',
  'max_attempts',
  'run_at',
  'created_at',
  'updated_at',
  'finished_at',
  'last_error',
  'result',
] as const;

export function findJob(deps: Pick<JobsDeps, 'database'>, args: { uid: string; id: string }) {
  return withTenant(deps.database.db, args.uid, (trx) =>
    trx
      .selectFrom('jobs')
      .select(COLUMNS)
      .where('user_id', '=', args.uid)
      .where('id', '=', args.id)
      .executeTakeFirst(),
  );
}

/** The user's jobs, newest first, optionally in one state; `after` is the last id of the previous page. */
export async function listJobs(
  deps: Pick<JobsDeps, 'database'>,
  args: { uid: string; state?: 'queued' | 'running' | 'succeeded' | 'dead'; limit: number; after?: string },
): Promise<{ jobs: JobView[]; next?: string }> {
  const rows = await withTenant(deps.database.db, args.uid, async (trx) => {
    let query = trx.selectFrom('jobs').select(COLUMNS).where('user_id', '=', args.uid);
    if (args.state) query = query.where('state', '=', args.state);
    if (args.after) {
      const cursor = await trx
        .selectFrom('jobs')
        .select(['created_at', 'id'])
        .where('user_id', '=', args.uid)
        .where('id', '=', args.after)
        .executeTakeFirst();
      if (cursor) {
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '<', cursor.created_at),
            eb.and([eb('created_at', '=', cursor.created_at), eb('id', '<', cursor.id)]),
          ]),
        );
      }
    }
    return query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(args.limit + 1)
      .execute();
  });
  const page = rows.slice(0, args.limit).map(toJobView);
  return { jobs: page, ...(rows.length > args.limit ? { next: page[page.length - 1]?.id } : {}) };
}
