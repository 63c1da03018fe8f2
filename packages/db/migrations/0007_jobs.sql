-- The jobs service's queue. One row per job, owned by a user (user_id FK: an account purge takes
-- its jobs with it). Workers of every replica claim with ONE statement built on
-- FOR UPDATE SKIP LOCKED, through the narrow SECURITY DEFINER functions below: claiming, reaping
-- and fenced terminal writes are cross-tenant work that no user-scoped query may do.

create table jobs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references user_sessions(id) on delete cascade,
  type text not null check (type ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  payload jsonb not null default '{}'::jsonb check (octet_length(payload::text) <= 65536),
  state text not null default 'queued' check (state in ('queued', 'running', 'succeeded', 'dead')),
  run_at timestamptz not null default now(),
  attempts integer not null default 0 check (attempts >= 0),
  max_attempts integer not null check (max_attempts between 1 and 1000),
  -- A running job whose worker has not heart-beaten for this long is reaped.
  lock_timeout_seconds integer not null check (lock_timeout_seconds between 1 and 86400),
  locked_by text,
  locked_at timestamptz,
  dedup_key text check (length(dedup_key) between 1 and 200),
  last_error text,
  result jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  check ((state = 'running') = (locked_by is not null))
);

-- Claims look only at due, queued jobs.
create index jobs_claimable_idx on jobs (run_at, id) where state = 'queued';
-- A user's jobs, newest first; and the tenant index every table has.
create index jobs_user_id_created_idx on jobs (user_id, created_at desc, id);
-- At most one ACTIVE job per (user, type, dedup key); finished ones do not block a new one.
create unique index jobs_dedup_idx on jobs (user_id, type, dedup_key)
  where dedup_key is not null and state in ('queued', 'running');

-- Liveness of every worker process; the reaper compares a job's locked_by with this.
create table job_workers (
  id text primary key check (length(id) between 1 and 200),
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);

alter table jobs enable row level security;
create policy jobs_tenant on jobs
  using (user_id = nullif(current_setting('app.user_id', true), '')::uuid)
  with check (user_id = nullif(current_setting('app.user_id', true), '')::uuid);
-- Users read and create their jobs; state changes go through the functions below.
grant select, insert on jobs to tenantmesh_runtime;
grant delete on jobs to tenantmesh_runtime;

-- A new due job wakes idle workers at once (polling is the fallback).
create function jobs_notify() returns trigger
language plpgsql as $$
begin
  perform pg_notify('tenantmesh_jobs', '');
  return null;
end $$;
create trigger jobs_notify_insert after insert on jobs for each statement execute function jobs_notify();

-- The claim: ONE statement. The inner SELECT walks jobs_claimable_idx in (run_at, id) order and
-- stops after p_limit rows it could lock (SKIP LOCKED: rows another worker is claiming right now
-- are passed over, never waited for); the UPDATE then finds those rows by primary key. The
-- planner settings keep that plan whatever the statistics say: right after a burst the table has
-- none, and the planner's other choice (bitmap scan + sort, hash join over all of jobs) reads the
-- whole backlog on every claim (docs/benchmarks.md, "Jobs").
create function jobs_claim(p_worker text, p_limit integer, p_types text[])
returns setof jobs
language plpgsql volatile security definer set search_path = pg_catalog, public
set enable_bitmapscan = off set enable_hashjoin = off set enable_sort = off set enable_seqscan = off
as $$
begin
  -- PL/pgSQL, not SQL: the plan is cached for the session instead of made on every call.
  return query
  update public.jobs j
  set state = 'running', attempts = j.attempts + 1, locked_by = p_worker, locked_at = now(), updated_at = now()
  where j.id = any(array(
    select q.id from public.jobs q
    where q.state = 'queued' and q.run_at <= now() and q.type = any(p_types)
    order by q.run_at, q.id
    limit least(greatest(p_limit, 1), 1000)
    for update skip locked
  ))
  returning j.*;
end $$;

create function jobs_heartbeat(p_worker text)
returns void
language sql volatile security definer set search_path = pg_catalog, public
as $$
  insert into public.job_workers (id) values (p_worker)
  on conflict (id) do update set heartbeat_at = now()
$$;

-- The jobs a worker holds. A claim that committed while its reply was lost (the connection died)
-- leaves jobs the worker never heard of; it finds and releases them here.
create function jobs_held_by(p_worker text)
returns setof uuid
language sql stable security definer set search_path = pg_catalog, public
as $$
  select j.id from public.jobs j where j.state = 'running' and j.locked_by = p_worker
$$;

create function jobs_worker_gone(p_worker text)
returns void
language sql volatile security definer set search_path = pg_catalog, public
as $$
  delete from public.job_workers where id = p_worker
$$;

-- Fenced: only the worker that holds a job may finish it. A zombie whose job was reaped and taken
-- by another worker changes nothing. One call settles many jobs (a worker gathers the jobs that
-- finished while its previous call was in flight); returns the ids it did settle.
create function jobs_succeed(p_worker text, p_ids uuid[], p_results jsonb[])
returns setof uuid
language plpgsql volatile security definer set search_path = pg_catalog, public
set enable_hashjoin = off set enable_seqscan = off
as $$
begin
  return query
  update public.jobs j
  set state = 'succeeded', result = r.result, locked_by = null, locked_at = null,
    finished_at = now(), updated_at = now(), last_error = null
  from unnest(p_ids, p_results) as r(id, result)
  where j.id = r.id and j.state = 'running' and j.locked_by = p_worker
  returning j.id;
end $$;

-- Fenced failure: back to queued at p_retry_at, or dead once attempts reached max_attempts.
-- Returns the new state, or null when the worker no longer holds the job.
create function jobs_fail(p_id uuid, p_worker text, p_error text, p_retry_at timestamptz)
returns text
language sql volatile security definer set search_path = pg_catalog, public
as $$
  update public.jobs
  set state = case when attempts >= max_attempts then 'dead' else 'queued' end,
      run_at = case when attempts >= max_attempts then run_at else p_retry_at end,
      finished_at = case when attempts >= max_attempts then now() end,
      last_error = left(p_error, 4000), locked_by = null, locked_at = null, updated_at = now()
  where id = p_id and state = 'running' and locked_by = p_worker
  returning state
$$;

-- Fenced release on shutdown (in-flight jobs past the grace period, claimed-ahead jobs never
-- started): they go back as they were (the attempt is not counted). Returns the ids released.
create function jobs_release(p_worker text, p_ids uuid[])
returns setof uuid
language plpgsql volatile security definer set search_path = pg_catalog, public
as $$
declare
  released uuid[];
begin
  with r as (
    update public.jobs set state = 'queued', attempts = greatest(attempts - 1, 0), run_at = now(),
      locked_by = null, locked_at = null, updated_at = now()
    where id = any(p_ids) and state = 'running' and locked_by = p_worker
    returning id
  )
  select array_agg(r.id) into released from r;
  -- Back in the queue and due: wake the idle workers, as an insert does.
  if released is not null then
    perform pg_notify('tenantmesh_jobs', '');
    return query select unnest(released);
  end if;
end $$;

-- The stale-lock reaper: running jobs whose worker's heartbeat (or, without one, the claim) is
-- older than the job's lock timeout go back to queued, or to dead at max attempts.
create function jobs_reap()
returns table (id uuid, type text, state text)
language plpgsql volatile security definer set search_path = pg_catalog, public
as $$
begin
  return query
  with reaped as (
    update public.jobs j
    set state = case when j.attempts >= j.max_attempts then 'dead' else 'queued' end,
        finished_at = case when j.attempts >= j.max_attempts then now() end,
        run_at = now(),
        last_error = 'lock expired: worker ' || j.locked_by || ' stopped heart-beating',
        locked_by = null, locked_at = null, updated_at = now()
    where j.state = 'running'
      and j.locked_at < now() - make_interval(secs => j.lock_timeout_seconds)
      and not exists (
        select 1 from public.job_workers w
        where w.id = j.locked_by and w.heartbeat_at > now() - make_interval(secs => j.lock_timeout_seconds)
      )
    returning j.id, j.type, j.state
  )
  select r.id, r.type, r.state from reaped r;
  -- Requeued jobs are due at once: wake the idle workers.
  if found then
    perform pg_notify('tenantmesh_jobs', '');
  end if;
end $$;

create function jobs_count_by_state()
returns table (state text, jobs bigint)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select j.state, count(*) from public.jobs j group by j.state
$$;

do $$
declare f text;
begin
  foreach f in array array[
    'jobs_claim(text, integer, text[])', 'jobs_heartbeat(text)', 'jobs_held_by(text)', 'jobs_worker_gone(text)',
    'jobs_succeed(text, uuid[], jsonb[])', 'jobs_fail(uuid, text, text, timestamptz)',
    'jobs_release(text, uuid[])', 'jobs_reap()', 'jobs_count_by_state()'
  ] loop
    execute format('revoke all on function %s from public', f);
    execute format('grant execute on function %s to tenantmesh_runtime', f);
  end loop;
end $$;
