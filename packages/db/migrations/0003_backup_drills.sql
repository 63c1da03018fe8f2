-- Restore drills (docs/disaster-recovery.md): one row per restore that `pnpm drill` performed and
-- verified, kept as the evidence behind the security page's "the most recent successful drill is
-- documented internally". Operator data, not tenant data: no user_id, and NO grant to
-- tenantmesh_runtime, so no service (and no tenant through one) can read or forge a drill result.
-- The drill writes and `pnpm drill:status` reads it as the owner role.

create table backup_drills (
  id bigint generated always as identity primary key,
  started_at timestamptz not null,
  finished_at timestamptz not null,
  -- latest: the newest backup set restored as it was taken; pitr: backup + WAL replayed to target_time.
  kind text not null check (kind in ('latest', 'pitr')),
  -- pitr: the recovery target; latest: when the restored backup finished.
  target_time timestamptz,
  backup_label text,
  ok boolean not null,
  -- Wall time of restore + start + recovery + verification, the measured recovery time.
  rto_seconds numeric(12, 3) not null check (rto_seconds >= 0),
  -- Age of the oldest WAL not yet archived when the drill began; null if nothing was ever archived.
  rpo_seconds numeric(12, 3) check (rpo_seconds >= 0),
  tables_checked integer not null default 0 check (tables_checked >= 0),
  -- Counts, mismatches, index checks, sizes, errors: whatever the operator needs to act on a failure.
  detail jsonb not null default '{}'::jsonb,
  constraint backup_drills_finished_after_started check (finished_at >= started_at)
);

create index backup_drills_kind_finished_at_idx on backup_drills (kind, finished_at desc);

-- Second wall: row-level security with no policy. Should a grant ever be added by mistake, a
-- role other than the owner still sees no row.
alter table backup_drills enable row level security;
revoke all on backup_drills from public;
