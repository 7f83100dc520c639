import * as m001 from './001-initial.ts';

export interface Migration {
  version: number;
  sql: string;
}

/** In order; each file is one schema version. */
export const MIGRATIONS: readonly Migration[] = [m001];
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
