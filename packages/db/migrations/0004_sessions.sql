-- Sign-in sessions (docs/adr/0005-sessions-and-sign-in.md). The cookie holds a random id; only its
-- SHA-256 is stored, so a copy of this table yields no usable cookie.

create table sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references user_sessions(id) on delete cascade,
  token_hash bytea not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  idle_expires_at timestamptz not null,
  absolute_expires_at timestamptz not null,
  revoked_at timestamptz,
  user_agent text check (length(user_agent) <= 512),
  constraint sessions_token_hash_key unique (token_hash),
  constraint sessions_token_hash_len check (length(token_hash) = 32),
  constraint sessions_user_id_id_key unique (user_id, id),
  constraint sessions_expiry_order check (idle_expires_at <= absolute_expires_at)
);

alter table sessions enable row level security;
create policy sessions_tenant on sessions
  using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

grant select, insert, delete on sessions to tenantmesh_runtime;
-- Sessions are revoked or touched, never re-pointed at another user or token.
grant update (last_seen_at, idle_expires_at, revoked_at) on sessions to tenantmesh_runtime;

-- The cookie arrives before anyone knows the uid: this narrow function is the only way to look a
-- session up by its token hash. It returns only a live session (not revoked, not expired).
create function session_by_token_hash(p_token_hash bytea)
returns table (session_id uuid, user_id uuid, idle_expires_at timestamptz, absolute_expires_at timestamptz, last_seen_at timestamptz)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select s.id, s.user_id, s.idle_expires_at, s.absolute_expires_at, s.last_seen_at
  from public.sessions s
  where s.token_hash = p_token_hash
    and s.revoked_at is null
    and s.idle_expires_at > now()
    and s.absolute_expires_at > now()
$$;
revoke all on function session_by_token_hash(bytea) from public;
grant execute on function session_by_token_hash(bytea) to tenantmesh_runtime;

-- Sign-in finds a user by (provider, subject) — never by email, so an address claimed at another
-- provider cannot take over an account — and creates them on first sign-in. Profile fields are
-- refreshed; is_admin is never touched here.
create function upsert_user(p_provider text, p_subject text, p_email text, p_display_name text)
returns uuid
language sql volatile security definer set search_path = pg_catalog, public
as $$
  insert into public.user_sessions (provider, subject, email, display_name)
  values (p_provider, p_subject, p_email, p_display_name)
  on conflict (provider, subject) do update
    set email = excluded.email, display_name = excluded.display_name, updated_at = now()
  returning id
$$;
revoke all on function upsert_user(text, text, text, text) from public;
grant execute on function upsert_user(text, text, text, text) to tenantmesh_runtime;
