/**
 * The sync agent's counts on /metrics (store_sync_counts{what}): read at each scrape from the
 * agent's `counters`, so a snapshot copy dropped while one was being applied shows on the next
 * scrape; a store without sync has no such family.
 */
import { afterEach, describe, expect, it } from 'vitest';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { StoreMetrics } from '../../edge/ops/metrics.ts';
import { DaemonEventRelay } from '../../edge/events.ts';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import type { SyncState } from '../../cloud-sync/agent/state.ts';
import { silentLogger } from '../../edge/log.ts';

describe('store_sync_counts on /metrics', () => {
  let db: Db | undefined;
  let metrics: StoreMetrics | undefined;
  afterEach(() => {
    metrics?.stop();
    if (db) closeLedger(db);
  });

  const state: SyncState = { connected: true, outbox_pending: 0, last_acked_seq: 0, inbound_seq: 0, last_contact: null, refused: {} };
  const scrape = async (m: StoreMetrics): Promise<PromFamily[]> => parsePrometheusTextFormat((await m.text()).body);

  it('reports each of the agent\'s counts by name, as they are at the scrape', async () => {
    db = openLedger(':memory:');
    const counters = { sent: 120, resent: 3, asked: 1, checked: 7, dropped: 0 };
    metrics = new StoreMetrics({ events: new DaemonEventRelay(silentLogger()), db: () => db!, sync: { state: () => state, counters } });
    const counts = async () => Object.fromEntries((await scrape(metrics!)).find((f) => f.name === 'store_sync_counts')!.metrics.map((s) => [(s as { labels: Record<string, string> }).labels.what, Number((s as { value: string }).value)]));
    expect(await counts()).toEqual({ sent: 120, resent: 3, asked: 1, checked: 7, dropped: 0 });
    counters.dropped += 2;
    expect((await counts()).dropped).toBe(2);
  });

  it('is absent without sync', async () => {
    db = openLedger(':memory:');
    metrics = new StoreMetrics({ events: new DaemonEventRelay(silentLogger()), db: () => db! });
    expect((await scrape(metrics)).some((f) => f.name === 'store_sync_counts')).toBe(false);
  });
});
