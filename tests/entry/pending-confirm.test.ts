/**
 * Confirming a pending template (card-confirmed learning, edge/entry/pending-review.ts) keeps the
 * look-alike check of an enrolment: a face within match.threshold of another villager is refused
 * (FACE_COLLISION) and stays pending. `faces learning --confirm` exits 2 on a confirmation the
 * rules of learning refuse (bad input, not a failure).
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { confirmPendingTemplate } from '../../edge/entry/pending-review.ts';
import { addTemplates, loadOrCreateTemplateKey, sealDescriptor } from '../../edge/entry/templates.ts';
import { allowLearning, countLearned } from '../../edge/ledger/face-learning.ts';
import { countPending, insertPending } from '../../edge/ledger/face-pending.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { closeLedger } from '../../edge/ledger/db.ts';
import { isEdgeError } from '../../edge/errors.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { runCli } from './cli-run.ts';

/** A unit descriptor at distance `dist` from axis `base`, leaning toward axis `toward`. */
function unit(base: number, toward = base, dist = 0): Float32Array {
  const d = new Float32Array(128);
  const angle = 2 * Math.asin(dist / 2);
  d[base] = Math.cos(angle);
  if (toward !== base) d[toward] = Math.sin(angle);
  return d;
}

const config = resolveEntryConfig({});
const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

/** wang and li enrolled 0.3 apart (both within reach of the door's margin rule), wang consents to learning. */
function setup() {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  const key = loadOrCreateTemplateKey(path.join(l.dir, config.key_file));
  const at = new Date().toISOString();
  for (const [id, d] of [['wang', unit(0)], ['li', unit(0, 1, 0.3)]] as const) {
    addVillager(l.db, { id, name: id, village: 'v' });
    setFaceConsent(l.db, id, 'self');
    addTemplates(l.db, key, id, [{ descriptor: d, quality: null, source: `${id}.jpg` }], at);
  }
  allowLearning(l.db, 'wang', 'self', 'cli', at);
  const pending = (d: Float32Array): number => insertPending(l.db, 'wang', sealDescriptor(key, 'wang', d), null,
    { distance: 0.15, enrolledDistance: 0.15, margin: 0.0, credential: 'card' }, at, new Date(Date.now() + 86_400_000).toISOString());
  return { ...l, key, pending };
}

describe('confirming a pending template', () => {
  it('refuses one within the match threshold of another villager (FACE_COLLISION naming them); it stays pending', async () => {
    const s = setup();
    // 0.15 from wang's enrolment and 0.15 from li's, under the strict 0.205
    const id = s.pending(unit(0, 1, 0.15));
    let err: unknown;
    try { await confirmPendingTemplate(s.db, s.key, config, 'wang', id, 'maintainer', new Date()); } catch (e) { err = e; }
    expect(isEdgeError(err, 'FACE_COLLISION')).toBe(true);
    expect((err as Error).message).toContain('villager li');
    expect(countLearned(s.db, 'wang')).toBe(0);
    expect(countPending(s.db, new Date().toISOString(), 'wang')).toBe(1);
    // one on wang's far side is no look-alike of li: confirmed
    const far = s.pending(unit(0, 2, 0.15));
    await expect(confirmPendingTemplate(s.db, s.key, config, 'wang', far, 'maintainer', new Date())).resolves.toMatchObject({ template: expect.any(Number) as number });
    expect(countLearned(s.db, 'wang')).toBe(1);
  });

  it('faces learning --confirm refused by the rules of learning exits 2, bilingual', async () => {
    const s = setup();
    // the very face of the enrolment: it adds nothing
    const id = s.pending(unit(0));
    closeLedger(s.db);
    const r = await runCli(['faces', 'learning', '--data-dir', s.dir, '--villager', 'wang', '--confirm', String(id)]);
    expect(r.err).toMatch(/FACE_LEARNING_REFUSED/);
    expect(r.err).toMatch(/请拒绝/);
    expect(r.err).toMatch(/reject it/);
    expect(r.code).toBe(2);
  });
});
