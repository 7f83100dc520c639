/**
 * Learning at the door (`entry.adapt`), on the running door: after the door opened for a
 * villager by face, the deciding frame may become an extra template of that villager, by the
 * rules of edge/entry/adapt.ts (the same ones `faces evaluate --adapt` measures). Only for a
 * villager whose consent covers learning (`faces learning --allow`); sealed like every template;
 * each learned template is an audit record (`face.learn`, actor `door`), listed and removable
 * with `faces learning` and counted on the admin page.
 */
import type { Logger } from 'pino';
import type { Db } from '../ledger/db.ts';
import { insertLearned, learnedSince, learningConsentOf, templateRowsOf } from '../ledger/face-learning.ts';
import { chooseSlot, confidentMatch, type LearnRefusal } from './adapt.ts';
import type { EntryConfig } from './config.ts';
import type { FrameVerdict } from './decision.ts';
import { openDescriptor, sealDescriptor } from './templates.ts';

export type LearnResult =
  | { learned: true; template: number; replaced: number | null; distance: number; margin: number }
  | { learned: false; why: LearnRefusal | 'no_learning_consent' | 'no_descriptor' | 'liveness_off' };

export interface DoorLearningDeps {
  db: Db;
  key: Buffer;
  config: EntryConfig;
  /** The store's time zone (jobs.timezone) for the daily cap; absent: the system's. */
  timeZone?: string | undefined;
  now: () => number;
  logger: Logger;
}

export class DoorLearning {
  private readonly day: Intl.DateTimeFormat;
  constructor(private readonly deps: DoorLearningDeps) {
    this.day = new Intl.DateTimeFormat('en-CA', { timeZone: deps.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  }

  /**
   * `window`: the verdicts of the window that decided `matched` for `villagerId`, the deciding
   * frame last; `descriptor`: that frame's descriptor.
   */
  learn(villagerId: string, window: readonly FrameVerdict[], descriptor: Float32Array | null | undefined): LearnResult {
    const { db, key, config } = this.deps;
    const cfg = config.adapt;
    if (!descriptor) return { learned: false, why: 'no_descriptor' };
    // only a face the liveness check passed: with the check off, a photo held up could teach the door
    if (!config.liveness.enabled) return { learned: false, why: 'liveness_off' };
    if (!learningConsentOf(db, villagerId)) return { learned: false, why: 'no_learning_consent' };
    const refusal = confidentMatch(window, villagerId, cfg);
    if (refusal) return { learned: false, why: refusal };
    const last = window[window.length - 1] as Extract<FrameVerdict, { kind: 'candidate' }>;
    const rows = templateRowsOf(db, villagerId);
    const enrolled = rows.filter((r) => r.origin === 'enrolled').map((r) => openDescriptor(key, villagerId, r));
    const learnedRows = rows.filter((r) => r.origin === 'learned');
    const learned = learnedRows.map((r) => openDescriptor(key, villagerId, r));
    const now = this.deps.now();
    const today = this.day.format(now);
    // the audit log counts today's learning (a replaced row is gone from face_templates)
    const since = new Date(now - 36 * 3600_000).toISOString();
    const learnedToday = learnedSince(db, villagerId, since).filter((at) => this.day.format(new Date(at)) === today).length;
    const slot = chooseSlot(enrolled, learned, descriptor, learnedToday, cfg);
    if (slot.action === 'skip') return { learned: false, why: slot.why };
    const replaced = slot.action === 'replace' ? (learnedRows[slot.index]?.id ?? null) : null;
    const round = (x: number) => Math.round(x * 1000) / 1000;
    const template = insertLearned(db, villagerId, { ...sealDescriptor(key, villagerId, descriptor), quality: null, source: 'door' }, replaced,
      { distance: round(last.distance), margin: round(last.margin) }, () => new Date(now));
    return { learned: true, template, replaced, distance: last.distance, margin: last.margin };
  }
}
