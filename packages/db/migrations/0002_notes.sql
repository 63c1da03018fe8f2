-- The reference (skeleton) service's tables: a notebook holds notes. They show the tenant-table
-- pattern every service follows:
--   * user_id uuid not null references user_sessions(id) on delete cascade
--   * a unique (user_id, id) so other tenant rows can reference it by a COMPOSITE key,
--     which makes a pointer into another tenant's rows impossible at the schema level
--   * an index leading with user_id, row-level security, grants to tenantmesh_runtime only.

create table notebooks (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references user_sessions(id) on delete cascade,
  title text not null check (length(title) between 1 and 200),
  created_at timestamptz not null default now(),
  constraint notebooks_user_id_id_key unique (user_id, id)
);

create table notes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references user_sessions(id) on delete cascade,
  notebook_id uuid not null,
  body text not null check (length(body) <= 10000),
  created_at timestamptz not null default now(),
  constraint notes_notebook_fk foreign key (user_id, notebook_id)
    references notebooks (user_id, id) on delete cascade
);

create index notes_user_id_notebook_id_idx on notes (user_id, notebook_id);

alter table notebooks enable row level security;
alter table notes enable row level security;

create policy notebooks_tenant on notebooks
  using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);
create policy notes_tenant on notes
  using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

grant select, insert, update, delete on notebooks, notes to tenantmesh_runtime;
