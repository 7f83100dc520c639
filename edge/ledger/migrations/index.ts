import type { Database } from 'better-sqlite3';
import * as m001 from './001-initial.ts';
import * as m002 from './002-mask-door-cards.ts';
import * as m003 from './003-admin-accounts.ts';
import * as m004 from './004-job-runs.ts';
import * as m005 from './005-alarms.ts';
import * as m006 from './006-face-learning.ts';
import * as m007 from './007-alarm-acknowledgement.ts';
import * as m008 from './008-outbox-pending-index.ts';
import * as m009 from './009-face-pending.ts';
import * as m010 from './010-villager-status-changed.ts';
import * as m011 from './011-card-requests.ts';
import * as m012 from './012-entry-debt-added.ts';
import * as m013 from './013-qr-slip-visit.ts';
import * as m014 from './014-outbox-canonical.ts';
import * as m015 from './015-refund-indexes.ts';

export interface Migration {
  version: number;
  sql: string;
  /** Row rewrites SQL alone cannot express; runs after `sql`, in the same transaction. */
  up?: (db: Database) => void;
}

/** In order; each file is one schema version. */
export const MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011, m012, m013, m014, m015];
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
