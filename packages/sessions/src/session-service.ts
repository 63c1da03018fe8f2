import { createHash } from 'node:crypto';
import type { KeyRing } from '@tenantmesh/config';
import { type DB, withTenant } from '@tenantmesh/db';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { CachedSession, SessionCache } from './session-cache';
import {
  cookieValues,
  newSessionId,
  SESSION_COOKIE,
  sessionSetCookie,
  signSessionId,
  verifySessionCookie,
} from './session-cookie';

export interface SessionPolicy {
  idleTtlSeconds: number;
  absoluteTtlSeconds: number;
}

export interface ResolvedSession {
  uid: string;
  sessionId: string;
  /** A fresh Set-Cookie when the cookie was signed with a key that no longer signs. */
  setCookie?: string;
}

/** How long a resolved session may be served from cache: revocation deletes it anyway. */
const CACHE_TTL_MS = 60_000;
/** Sliding idle expiry is written back at most this often, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;

const hashOf = (sid: string): Buffer => createHash('sha256').update(sid).digest();

/**
 * Sessions: the signed cookie names a server-side row; the row (not the cookie) decides. Used by
 * auth (start, end) and by the gateway (resolve on every request).
 */
export class SessionService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly cache: SessionCache,
    private readonly ring: KeyRing,
    private readonly policy: SessionPolicy,
  ) {}

  /** Starts a session for uid; returns the Set-Cookie to send. */
  async start(uid: string, userAgent?: string): Promise<{ sessionId: string; setCookie: string }> {
    const sid = newSessionId();
    const now = Date.now();
    const absolute = new Date(now + this.policy.absoluteTtlSeconds * 1000);
    const idle = new Date(Math.min(now + this.policy.idleTtlSeconds * 1000, absolute.getTime()));
    const row = await withTenant(this.db, uid, (trx) =>
      trx
        .insertInto('sessions')
        .values({
          user_id: uid,
          token_hash: hashOf(sid),
          idle_expires_at: idle,
          absolute_expires_at: absolute,
          user_agent: userAgent?.slice(0, 512) ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return {
      sessionId: row.id,
      setCookie: sessionSetCookie(signSessionId(this.ring, sid), { maxAge: this.policy.absoluteTtlSeconds }),
    };
  }

  /**
   * The session a Cookie header names, or undefined for anything else: no cookie, two cookies,
   * a bad signature, a key dropped from the ring, an unknown, expired or revoked session.
   */
  async resolve(cookieHeader: string | undefined): Promise<ResolvedSession | undefined> {
    const values = cookieValues(cookieHeader, SESSION_COOKIE);
    if (values.length !== 1) return undefined;
    const verified = verifySessionCookie(this.ring, values[0]!);
    if (!verified) return undefined;
    const hash = hashOf(verified.sid);
    const key = hash.toString('hex');
    const now = Date.now();

    let session = await this.cache.get(key);
    // A cache hit costs one Redis read; the entry is rewritten only when it changed.
    let changed = false;
    if (!session || session.idleExpiresAt <= now || session.absoluteExpiresAt <= now) {
      session = await this.lookup(hash);
      if (!session) {
        await this.cache.delete(key);
        return undefined;
      }
      changed = true;
    }
    if (now - session.lastSeenAt > TOUCH_INTERVAL_MS) {
      session = await this.touch(session, now);
      changed = true;
    }
    if (changed) await this.cache.set(key, session, Math.min(CACHE_TTL_MS, session.idleExpiresAt - now));

    const resolved: ResolvedSession = { uid: session.uid, sessionId: session.sessionId };
    if (verified.stale) {
      const remaining = Math.floor((session.absoluteExpiresAt - now) / 1000);
      resolved.setCookie = sessionSetCookie(signSessionId(this.ring, verified.sid), { maxAge: remaining });
    }
    return resolved;
  }

  /** Revokes the session this Cookie header names (logout). Every replica refuses it from now on. */
  async end(cookieHeader: string | undefined): Promise<boolean> {
    const values = cookieValues(cookieHeader, SESSION_COOKIE);
    if (values.length !== 1) return false;
    const verified = verifySessionCookie(this.ring, values[0]!);
    if (!verified) return false;
    const hash = hashOf(verified.sid);
    const session = await this.lookup(hash);
    await this.cache.delete(hash.toString('hex'));
    if (!session) return false;
    await withTenant(this.db, session.uid, async (trx) => {
      await trx
        .updateTable('sessions')
        .set({ revoked_at: new Date() })
        .where('user_id', '=', session.uid)
        .where('id', '=', session.sessionId)
        .execute();
      await notifyRevoked(trx, session.uid);
    });
    return true;
  }

  /** Revokes every live session of a user (account deletion, "sign out everywhere"). */
  async endAll(uid: string): Promise<number> {
    const revoked = await withTenant(this.db, uid, async (trx) => {
      const rows = await trx
        .updateTable('sessions')
        .set({ revoked_at: new Date() })
        .where('user_id', '=', uid)
        .where('revoked_at', 'is', null)
        .returning('token_hash')
        .execute();
      await notifyRevoked(trx, uid);
      return rows;
    });
    await Promise.all(revoked.map((r) => this.cache.delete(Buffer.from(r.token_hash).toString('hex'))));
    return revoked.length;
  }

  private async lookup(hash: Buffer): Promise<CachedSession | undefined> {
    const { rows } = await sql<{
      session_id: string;
      user_id: string;
      idle_expires_at: Date;
      absolute_expires_at: Date;
      last_seen_at: Date;
    }>`select * from session_by_token_hash(${hash})`.execute(this.db);
    const row = rows[0];
    if (!row) return undefined;
    return {
      sessionId: row.session_id,
      uid: row.user_id,
      idleExpiresAt: row.idle_expires_at.getTime(),
      absoluteExpiresAt: row.absolute_expires_at.getTime(),
      lastSeenAt: row.last_seen_at.getTime(),
    };
  }

  private async touch(session: CachedSession, now: number): Promise<CachedSession> {
    const idle = Math.min(now + this.policy.idleTtlSeconds * 1000, session.absoluteExpiresAt);
    await withTenant(this.db, session.uid, (trx) =>
      trx
        .updateTable('sessions')
        .set({ last_seen_at: new Date(now), idle_expires_at: new Date(idle) })
        .where('user_id', '=', session.uid)
        .where('id', '=', session.sessionId)
        .where('revoked_at', 'is', null)
        .execute(),
    );
    return { ...session, lastSeenAt: now, idleExpiresAt: idle };
  }
}

/** PostgreSQL NOTIFY channel that carries the uid of a revoked session (services/events listens). */
export const SESSION_REVOKED_CHANNEL = 'tenantmesh_session_revoked';

/**
 * Tells every listener — every events replica — to close the user's open streams. Sent with the
 * revocation's commit (NOTIFY is transactional) and needs no Redis. Carries only the uid.
 */
async function notifyRevoked(trx: Transaction<DB>, uid: string): Promise<void> {
  await sql`select pg_notify(${SESSION_REVOKED_CHANNEL}, ${uid})`.execute(trx);
}
