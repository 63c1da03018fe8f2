import type postgres from 'postgres';

export interface DrillRow {
  id: string;
  kind: 'latest' | 'pitr';
  startedAt: Date;
  finishedAt: Date;
  targetTime: Date | null;
  ok: boolean;
  rtoSeconds: number;
  rpoSeconds: number | null;
  tablesChecked: number;
  problems: string[];
}

export interface LatestDrills {
  /** The newest successful drill of each kind. */
  successful: DrillRow[];
  /** The newest drill of each kind, passed or not (to notice a failure after the last success). */
  newest: DrillRow[];
}

/** Reads backup_drills as the owner role (the runtime role has no privilege on it). */
export async function findLatestDrills(sql: postgres.Sql): Promise<LatestDrills> {
  const select = (onlyOk: boolean) => sql<DrillRow[]>`
    select distinct on (kind) id::text as id, kind, started_at as "startedAt", finished_at as "finishedAt",
      target_time as "targetTime", ok, rto_seconds::float8 as "rtoSeconds", rpo_seconds::float8 as "rpoSeconds",
      tables_checked as "tablesChecked",
      coalesce(array(select jsonb_array_elements_text(detail->'problems')), '{}') ||
        array_remove(array[detail->>'error'], null) as problems
    from backup_drills
    where ${onlyOk ? sql`ok` : sql`true`}
    order by kind, finished_at desc, id desc`;
  const [successful, newest] = await Promise.all([select(true), select(false)]);
  return { successful, newest };
}
