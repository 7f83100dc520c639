/**
 * The store-door QR code names its village. A town's ledger signs every village's codes with its
 * one key, whose public half every store of the town installs; villager ids are unique only among
 * those the ledger registered, and a store's maintainer may register one the ledger holds in
 * another village. So a code of village a shown at a store of village b must not open it as b's
 * villager of the same id (charged to them): refused, nobody admitted, with the reason logged.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { issueQrToken, verifyQrToken } from '../../edge/entry/credentials.ts';
import { EntryPipeline } from '../../edge/entry/pipeline.ts';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { govApp, type GovApp } from './gov-app.ts';

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

describe(`the store-door QR code and the village it was issued for (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhangOfA: string;
  beforeAll(async () => {
    g = await govApp();
    zhangOfA = await g.villager(g.a, 'zhang');
  });
  afterAll(async () => g.close());

  const codeOf = async (session: string, village: string) => (await g.call(session, 'GET', `/api/villages/${village}/me/qr`)).json() as { token: string };

  /** A store of `village` (or one whose config names none, as in older set-ups) with the town ledger's QR key and a villager `zhang` of `localVillage`. */
  async function store(village: string | undefined, localVillage: string) {
    const l = tempLedger();
    cleanups.push(l.cleanup);
    addVillager(l.db, { id: 'zhang', name: '张三', village: localVillage });
    const logLines: Record<string, unknown>[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
    const pipeline = new EntryPipeline({
      config: resolveEntryConfig({}), db: l.db, recogniser: null, store: { isStoreBusy: () => false }, camera: null,
      lock: { unlock: () => Promise.resolve() },
      templateKey: loadOrCreateTemplateKey(path.join(l.dir, 'k')), qrPublicKey: g.qrPublic,
      logger: pino({ level: 'info' }, sink), now: () => Date.now(), village,
    });
    await pipeline.start();
    return { pipeline, logLines };
  }

  it('signs the village into the code', async () => {
    expect(verifyQrToken((await codeOf(zhangOfA, g.a)).token, g.qrPublic, { maxLifetimeS: 300, clockSkewS: 30 })).toMatchObject({ vid: 'zhang', vil: g.a });
  });

  it('refuses village a\'s code at village b\'s store, whose own zhang it would have charged; the reason is logged in both languages', async () => {
    const { pipeline, logLines } = await store(g.b, g.b);
    const d = await pipeline.presentCode((await codeOf(zhangOfA, g.a)).token);
    expect({ unlocked: d.unlocked, villager: d.villagerId, decision: d.decision }).toEqual({ unlocked: false, villager: null, decision: 'invalid_code' });
    expect(d.detail).toMatchObject({ why: 'code of another village', village: g.a });
    expect(logLines.find((l) => l.event === 'qr_other_village')).toMatchObject({ level: 40, village: g.a, msg: expect.stringMatching(/another village.*别村/) });
  });

  it('refuses it too at a store whose config names no village, by the village of its villager of that id', async () => {
    const { pipeline } = await store(undefined, g.b);
    const d = await pipeline.presentCode((await codeOf(zhangOfA, g.a)).token);
    expect({ unlocked: d.unlocked, villager: d.villagerId }).toEqual({ unlocked: false, villager: null });
  });

  it('refuses a code that names no village (an older ledger\'s), even for the store\'s own villager of that id: it may be another village\'s; asks for the phone page to be refreshed, in both languages', async () => {
    const { pipeline, logLines } = await store(g.b, g.b);
    // the town ledger's key, as a ledger older than the village claim signed its codes
    const d = await pipeline.presentCode(issueQrToken(g.qrPrivate, 'zhang', 90));
    expect({ unlocked: d.unlocked, villager: d.villagerId, decision: d.decision }).toEqual({ unlocked: false, villager: null, decision: 'invalid_code' });
    expect(d.detail).toMatchObject({ why: 'code names no village' });
    expect(logLines.find((l) => l.event === 'qr_no_village')).toMatchObject({ level: 40, msg: expect.stringMatching(/refresh.*刷新/) });
  });

  it('opens the villager\'s own village\'s store', async () => {
    const { pipeline } = await store(g.a, g.a);
    const d = await pipeline.presentCode((await codeOf(zhangOfA, g.a)).token);
    expect({ unlocked: d.unlocked, villager: d.villagerId }).toEqual({ unlocked: true, villager: 'zhang' });
  });
});
