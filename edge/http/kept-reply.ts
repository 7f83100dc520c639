/**
 * Replies that every tablet asks for alike (the live picture, the shelves, the store), made
 * once per change for all of them: a reply is kept with the version of what it was made from
 * and made again only when that moved; a tablet that has it already (If-None-Match of its
 * ETag) gets a 304. Fifty tablets polling an unchanged store cost one rendering, not fifty.
 *
 * A version is one string, equal strings meaning equal replies; `null` means it cannot be told
 * (a part without change signals) and the reply is made afresh.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { cachedStatement, type Db } from '../ledger/db.ts';

/** The 304 a route with kept replies declares beside its 200. */
export const NotModified = Type.Null({ description: 'Nothing changed since the ETag given in If-None-Match' });

/**
 * What the ledger holds, as a version: `total_changes()` counts this connection's writes (the
 * daemon's one connection) and `data_version` moves when another connection (a CLI command)
 * commits.
 */
export function ledgerVersion(db: Db): string {
  const dataVersion = cachedStatement(db, 'PRAGMA data_version').pluck().get() as number;
  const changes = cachedStatement(db, 'SELECT total_changes()').pluck().get() as number;
  return `${dataVersion}.${changes}`;
}

/**
 * What the shelf scales show (each slot's health and resting weight), as a version; null when
 * they cannot be read now.
 */
export function scalesVersion(scales: (() => { status(): Array<{ slot: string; health: string; stable_g: number | null }> } | undefined) | undefined): string | null {
  let v = '';
  try {
    for (const s of scales?.()?.status() ?? []) v += `${s.slot}\u0000${s.health}\u0000${s.stable_g ?? ''}\u0001`;
  } catch {
    return null;
  }
  return v;
}

interface Kept {
  version: string;
  body: string;
  etag: string;
}

export class KeptReplies {
  private readonly kept = new Map<string, Kept>();
  /** Replies made (not served from what was kept): for tests and the benchmark. */
  made = 0;

  constructor(private readonly max = 16) {}

  /**
   * The reply for `key` (a route and its query), as JSON text serialised by the route's own
   * response schema; made by `make` only when `version` differs from the kept one's.
   */
  body(reply: FastifyReply, key: string, version: string | null, make: () => unknown): Kept {
    const hit = this.kept.get(key);
    if (version !== null && hit?.version === version) return hit;
    this.made += 1;
    const serialised = reply.serialize(make());
    const body = typeof serialised === 'string' ? serialised : Buffer.from(serialised as ArrayBuffer).toString('utf8');
    const made = { version: version ?? '', body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
    if (version !== null) {
      this.kept.delete(key);
      this.kept.set(key, made);
      if (this.kept.size > this.max) this.kept.delete(this.kept.keys().next().value!);
    }
    return made;
  }

  /** Sends the kept reply (200 with its ETag, or 304 when the client has it). */
  send(reply: FastifyReply, key: string, version: string | null, make: () => unknown): FastifyReply {
    const { body, etag } = this.body(reply, key, version, make);
    reply.header('etag', etag).header('cache-control', 'no-cache');
    const asked = reply.request.headers['if-none-match'];
    if (asked !== undefined && asked.split(',').some((t) => t.trim() === etag)) return reply.status(304).send(null);
    // already JSON text, serialised by the route's schema: sent as it is
    return reply.type('application/json; charset=utf-8').send(body);
  }
}
