-- The tenant root. Every table holding tenant data references user_sessions(id) (the security
-- page names this table; it holds one row per user, not per HTTP session).
-- Runs as the OWNER role; grants go to the NOLOGIN group role tenantmesh_runtime, whose members
-- are the DML-only login roles the services use at runtime (docs/adr/0003-roles-and-rls.md).

create table user_sessions (
  id uuid primary key default gen_random_uuid(),
  provider text not null,
  subject text not null,
  email text,
  display_name text,
  -- Admin promotion is an operator's SQL as the owner role (docs/runbook.md); the runtime role
  -- has no UPDATE privilege on this column, so no API can escalate.
  is_admin boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deletion_requested_at timestamptz,
  -- Users are found by (provider, subject), never by email alone.
  constraint user_sessions_provider_subject_key unique (provider, subject),
  constraint user_sessions_provider_check check (length(provider) between 1 and 64),
  constraint user_sessions_subject_check check (length(subject) between 1 and 255)
);

alter table user_sessions enable row level security;

-- A uid set for the transaction sees and changes only its own row.
create policy user_sessions_self on user_sessions
  using (id = nullif(current_setting('app.user_id', true), '')::uuid)
  with check (id = nullif(current_setting('app.user_id', true), '')::uuid);

grant select, delete on user_sessions to tenantmesh_runtime;
grant update (email, display_name, updated_at, deletion_requested_at) on user_sessions to tenantmesh_runtime;
