-- The events service: each user's event stream. `seq` numbers a user's events 1, 2, 3… with no
-- gaps: the next value comes from event_streams under a row lock, so a user's events also COMMIT
-- in seq order. A reconnecting client's Last-Event-ID is a seq; "exactly the missed events" is
-- then `seq > last` and a stream can see a gap (an event still in flight) and fill it.

create table event_streams (
  user_id uuid primary key references user_sessions(id) on delete cascade,
  last_seq bigint not null default 0 check (last_seq >= 0)
);

create table events (
  user_id uuid not null references user_sessions(id) on delete cascade,
  seq bigint not null check (seq > 0),
  type text not null check (type ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  data jsonb not null check (octet_length(data::text) <= 16384),
  created_at timestamptz not null default now(),
  primary key (user_id, seq)
);

-- Retention pruning walks by age across users.
create index events_created_at_idx on events (created_at);

alter table event_streams enable row level security;
alter table events enable row level security;
create policy event_streams_tenant on event_streams
  using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);
create policy events_tenant on events
  using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);

grant select, insert, update, delete on event_streams, events to tenantmesh_runtime;

-- Retention is cross-tenant work: this narrow function is the only way the runtime role deletes
-- other users' events, and only by age. Returns how many it deleted (at most p_limit per call).
create function events_prune(p_older_than interval, p_limit integer)
returns bigint
language sql volatile security definer set search_path = pg_catalog, public
as $$
  with doomed as (
    select e.user_id, e.seq from public.events e
    where e.created_at < now() - p_older_than
    order by e.created_at
    limit least(greatest(p_limit, 1), 100000)
  ), gone as (
    delete from public.events e using doomed d
    where e.user_id = d.user_id and e.seq = d.seq
    returning 1
  )
  select count(*) from gone
$$;
revoke all on function events_prune(interval, integer) from public;
grant execute on function events_prune(interval, integer) to tenantmesh_runtime;
