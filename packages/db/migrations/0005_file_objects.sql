-- The files service's metadata: one row per stored object. The encrypted bytes live in the object
-- store at <user_id>/<id> (id is the object VERSION: a replaced object gets a new id and a new
-- data key), so no client-chosen name ever becomes a path or an S3 key. Names live only here.

create table file_objects (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references user_sessions(id) on delete cascade,
  -- Validated and NFC-normalised by the service; the checks are a second wall.
  name text not null check (
    octet_length(name) between 1 and 1024
    and name = normalize(name, NFC)
    and name !~ '[\x01-\x1f\x7f/\\]'
    and name not in ('.', '..')
  ),
  size bigint not null check (size >= 0),
  sha256 bytea not null check (octet_length(sha256) = 32),
  content_type text not null check (length(content_type) between 1 and 255),
  -- Encryption: the chunk size the object was written with, and its data key wrapped by the
  -- master key `key_kid` of the files_master_keys ring (re-wrapped on rotation, data untouched).
  chunk_bytes integer not null check (chunk_bytes between 4096 and 16777216),
  key_kid text not null check (length(key_kid) between 1 and 200),
  wrapped_key bytea not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint file_objects_user_id_name_key unique (user_id, name),
  constraint file_objects_user_id_id_key unique (user_id, id)
);

create index file_objects_key_kid_idx on file_objects (key_kid);

alter table file_objects enable row level security;
create policy file_objects_tenant on file_objects
  using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

grant select, insert, update, delete on file_objects to tenantmesh_runtime;

-- Master-key rotation is cross-tenant work: these narrow functions are the only way the runtime
-- role reaches other users' rows, and they expose key material only (never names or sizes).

-- How many data keys each master key still wraps (the gauge operators watch before dropping a key).
create function files_data_keys_by_kid()
returns table (key_kid text, objects bigint)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select f.key_kid, count(*) from public.file_objects f group by f.key_kid
$$;
revoke all on function files_data_keys_by_kid() from public;
grant execute on function files_data_keys_by_kid() to tenantmesh_runtime;

-- A batch of data keys not yet wrapped by the active master key.
create function files_data_keys_to_rewrap(p_active_kid text, p_limit integer)
returns table (id uuid, user_id uuid, key_kid text, wrapped_key bytea)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select f.id, f.user_id, f.key_kid, f.wrapped_key from public.file_objects f
  where f.key_kid <> p_active_kid
  order by f.id
  limit least(greatest(p_limit, 1), 1000)
$$;
revoke all on function files_data_keys_to_rewrap(text, integer) from public;
grant execute on function files_data_keys_to_rewrap(text, integer) to tenantmesh_runtime;

-- Compare-and-set: replaces a wrapped key only if it is still the one that was read, so two
-- replicas re-wrapping at once (or a concurrent replace of the object) never lose a key.
create function files_replace_wrapped_key(
  p_id uuid, p_old_kid text, p_old_wrapped bytea, p_new_kid text, p_new_wrapped bytea
)
returns boolean
language sql volatile security definer set search_path = pg_catalog, public
as $$
  with changed as (
    update public.file_objects f
    set key_kid = p_new_kid, wrapped_key = p_new_wrapped
    where f.id = p_id and f.key_kid = p_old_kid and f.wrapped_key = p_old_wrapped
    returning 1
  )
  select exists (select 1 from changed)
$$;
revoke all on function files_replace_wrapped_key(uuid, text, bytea, text, bytea) from public;
grant execute on function files_replace_wrapped_key(uuid, text, bytea, text, bytea) to tenantmesh_runtime;
