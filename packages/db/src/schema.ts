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
  schema_migrations: SchemaMigrationsTable;
}
