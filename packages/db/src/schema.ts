import type { ColumnType, Generated } from 'kysely';

/** Kysely types for the tables in ../migrations. Keep in step with the SQL. */
export interface UserSessionsTable {
  id: Generated<string>;
  provider: string;
  subject: string;
  email: string | null;
  display_name: string | null;
  is_admin: ColumnType<boolean, never, never>;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  deletion_requested_at: Date | null;
}

export interface NotebooksTable {
  id: Generated<string>;
  user_id: string;
  title: string;
  created_at: ColumnType<Date, never, never>;
}

export interface NotesTable {
  id: Generated<string>;
  user_id: string;
  notebook_id: string;
  body: string;
  created_at: ColumnType<Date, never, never>;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  token_hash: Buffer;
  created_at: ColumnType<Date, never, never>;
  last_seen_at: ColumnType<Date, Date | undefined, Date>;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
}

/** Metadata of one stored object version (services/files). bigint arrives as string. */
export interface FileObjectsTable {
  id: string;
  user_id: string;
  name: string;
  size: ColumnType<string, number | string, number | string>;
  sha256: Buffer;
  content_type: string;
  chunk_bytes: number;
  key_kid: string;
  wrapped_key: Buffer;
  created_at: ColumnType<Date, Date | undefined, Date>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A user's event counter (services/events): the next seq comes from here under a row lock. */
export interface EventStreamsTable {
  user_id: string;
  last_seq: ColumnType<string, number | string | undefined, number | string>;
}

/** One stored event. bigint arrives as string; jsonb as parsed JSON. */
export interface EventsTable {
  user_id: string;
  seq: ColumnType<string, number | string, number | string>;
  type: string;
  // Written as `cast(<json text> as text)::jsonb` (see insert-event.ts), read back parsed.
  data: ColumnType<unknown, unknown, unknown>;
  created_at: ColumnType<Date, Date | undefined, Date>;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'dead';

/** One job of the queue (services/jobs). jsonb arrives parsed. */
export interface JobsTable {
  id: Generated<string>;
  user_id: string;
  type: string;
  payload: ColumnType<unknown, unknown, unknown>;
  state: ColumnType<JobState, JobState | undefined, JobState>;
  run_at: ColumnType<Date, Date | undefined, Date>;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: number;
  lock_timeout_seconds: number;
  locked_by: string | null;
  locked_at: Date | null;
  dedup_key: string | null;
  last_error: string | null;
  result: ColumnType<unknown, unknown, unknown>;
  created_at: ColumnType<Date, Date | undefined, Date>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  finished_at: Date | null;
}

/** Restore drill results (operator data: no user_id, no runtime grant). numeric arrives as string. */
export interface BackupDrillsTable {
  id: Generated<string>;
  started_at: Date;
  finished_at: Date;
  kind: 'latest' | 'pitr';
  target_time: Date | null;
  backup_label: string | null;
  ok: boolean;
  rto_seconds: ColumnType<string, number | string, number | string>;
  rpo_seconds: ColumnType<string | null, number | string | null, number | string | null>;
  tables_checked: number;
  detail: ColumnType<unknown, string, string>;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: ColumnType<Date, never, never>;
}

export interface DB {
  user_sessions: UserSessionsTable;
  notebooks: NotebooksTable;
  notes: NotesTable;
  sessions: SessionsTable;
  file_objects: FileObjectsTable;
  event_streams: EventStreamsTable;
  events: EventsTable;
  jobs: JobsTable;
  schema_migrations: SchemaMigrationsTable;
  backup_drills: BackupDrillsTable;
}
