import type postgres from 'postgres';
import type { DrillResult } from '../drill/drill-result';

/** Appends one drill result to backup_drills. Runs as the owner role: no other role may write it. */
export async function recordDrill(sql: postgres.Sql, result: DrillResult): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into backup_drills
      (started_at, finished_at, kind, target_time, backup_label, ok, rto_seconds, rpo_seconds, tables_checked, detail)
    values (${result.startedAt}, ${result.finishedAt}, ${result.kind}, ${result.targetTime},
      ${result.backupLabel}, ${result.ok}, ${result.rtoSeconds}, ${result.rpoSeconds},
      ${result.tablesChecked}, ${sql.json(JSON.parse(JSON.stringify(result.detail)))})
    returning id::text`;
  return row!.id;
}
