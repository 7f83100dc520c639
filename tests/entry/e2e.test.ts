/**
 * The whole path on simulated hardware: a camera replaying a villager's photo → inference
 * worker → decision → policy → the lock driver → the relay coil on the simulated board turns
 * on, then off after the pulse. QR and card take the same policy path.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EngineClient } from '../../models/engine-client.ts';
import { FilesSource } from '../../edge/entry/camera.ts';
import { resolveEntryConfig, type EntryConfig } from '../../edge/entry/config.ts';
import { addCard, issueQrToken, publicKeyFromPem, revokeCard } from '../../edge/entry/credentials.ts';
import { enrolVillager } from '../../edge/entry/enrol.ts';
import { EntryPipeline, type EntryDecision } from '../../edge/entry/pipeline.ts';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { addVillager, setFaceConsent, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { frameOf, portraits, type Portrait } from '../../harness/portraits.ts';
import { simulatedLock, until } from '../drivers/helpers.ts';

const logger = pino({ level: 'silent' });
const PULSE_MS = 400;
const config: EntryConfig = resolveEntryConfig({ unlock_pulse_ms: PULSE_MS, frame_rate: 10, match: { cooldown_ms: 60_000 } });
const ledger = tempLedger();
const key = loadOrCreateTemplateKey(path.join(ledger.dir, 'face.key'));
const engine = new EngineClient({ detectorInputSize: 416, detectorMinScore: config.detector_min_score, liveness: true });
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
let villager: Portrait;
let stranger: Portrait;

beforeAll(async () => {
  await engine.start();
  const [a, b] = [await portraits(engine, [2]), await portraits(engine, [6])];
  villager = a[0] as Portrait;
  stranger = b[0] as Portrait;
  addVillager(ledger.db, { id: 'zhang', name: '张三', village: 'v1' });
  setFaceConsent(ledger.db, 'zhang', 'self');
  await enrolVillager(ledger.db, key, engine, config, 'zhang', [{ name: 'zhang.jpg', frame: await frameOf(villager.jpeg) }], new Date().toISOString());
}, 120_000);

afterAll(async () => {
  await engine.stop();
  ledger.cleanup();
});

async function rig(photo: Buffer, busy = { value: false }) {
  const lockRig = await simulatedLock(logger);
  const file = path.join(ledger.dir, `cam-${Math.random().toString(36).slice(2)}.jpg`);
  writeFileSync(file, photo);
  const camera = new FilesSource({ camera: { kind: 'files', path: file, loop: true }, width: 640, height: 480, frameRate: config.frame_rate, retryMaxMs: 1000, logger });
  const pipeline = new EntryPipeline({
    config, db: ledger.db, recogniser: engine, lock: lockRig.lock, store: { isStoreBusy: () => busy.value },
    camera, templateKey: key, qrPublicKey: publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' })), logger,
  });
  const decisions: EntryDecision[] = [];
  pipeline.on('decision', (d) => decisions.push(d));
  const coilTrace: boolean[] = [];
  const sampler = setInterval(() => coilTrace.push(lockRig.relay.coil(lockRig.coil)), 20);
  const stop = async (): Promise<void> => {
    clearInterval(sampler);
    await pipeline.stop();
    await lockRig.stop();
  };
  return { pipeline, decisions, coilTrace, relay: lockRig.relay, coil: lockRig.coil, stop };
}

describe('entry end to end on the simulated relay board', () => {
  it('a villager\'s face turns the lock coil on, and the board drops it after the pulse', async () => {
    const r = await rig(villager.jpeg);
    try {
      expect(r.relay.coil(r.coil)).toBe(false);
      await r.pipeline.start();
      await until(() => r.decisions.length > 0, 20_000, 'a decision');
      expect(r.decisions[0]).toMatchObject({ by: 'face', decision: 'matched', villagerId: 'zhang', unlocked: true });
      expect(r.relay.coil(r.coil)).toBe(true);
      await until(() => !r.relay.coil(r.coil), PULSE_MS * 4, 'the relay to drop');
      expect(r.coilTrace.some((on) => on)).toBe(true);
      // the same person standing there is not let in again and again
      expect(r.decisions.filter((d) => d.decision === 'matched')).toHaveLength(1);
      const row = ledger.db.prepare("SELECT decision, by, villager_id FROM entry_events WHERE by = 'face' ORDER BY id DESC LIMIT 1").get();
      expect(row).toEqual({ decision: 'matched', by: 'face', villager_id: 'zhang' });
    } finally {
      await r.stop();
    }
  }, 60_000);

  it('a stranger\'s face is an unknown decision and the coil never turns on', async () => {
    const r = await rig(stranger.jpeg);
    try {
      await r.pipeline.start();
      await until(() => r.decisions.length > 0, 20_000, 'a decision');
      expect(r.decisions[0]).toMatchObject({ by: 'face', decision: 'unknown', villagerId: null, unlocked: false });
      expect(r.coilTrace.every((on) => !on)).toBe(true);
    } finally {
      await r.stop();
    }
  }, 60_000);

  it('the known face while the store is busy is store_busy; a blocked villager is blocked', async () => {
    const busy = { value: true };
    const r = await rig(villager.jpeg, busy);
    try {
      await r.pipeline.start();
      await until(() => r.decisions.length > 0, 20_000, 'a decision');
      expect(r.decisions[0]).toMatchObject({ decision: 'store_busy', villagerId: 'zhang', unlocked: false });
      // a QR slip refused because the store is busy is not used up
      const slip = issueQrToken(privateKey, 'zhang', 60, Date.now(), 'v1');
      expect(await r.pipeline.presentCode(slip)).toMatchObject({ by: 'qr', decision: 'store_busy', unlocked: false });
      busy.value = false;
      setVillagerStatus(ledger.db, 'zhang', 'blocked');
      expect(await r.pipeline.presentCode(slip)).toMatchObject({ by: 'qr', decision: 'blocked', unlocked: false });
      expect(r.coilTrace.every((on) => !on)).toBe(true);
    } finally {
      setVillagerStatus(ledger.db, 'zhang', 'active');
      await r.stop();
    }
  }, 60_000);

  it('QR tokens and passbook cards take the same path: valid opens, replayed, forged or revoked do not', async () => {
    const r = await rig(Buffer.from('not used'));
    try {
      // no camera frames here: the camera file is not an image, the source skips it
      await r.pipeline.start();
      const token = issueQrToken(privateKey, 'zhang', 60, Date.now(), 'v1');
      expect(await r.pipeline.presentCode(`${token}\r\n`)).toMatchObject({ by: 'qr', decision: 'matched', villagerId: 'zhang', unlocked: true });
      expect(r.relay.coil(r.coil)).toBe(true);
      expect(await r.pipeline.presentCode(token)).toMatchObject({ by: 'qr', decision: 'invalid_code', detail: { why: 'already used' }, unlocked: false });
      const forged = issueQrToken(generateKeyPairSync('ed25519').privateKey, 'zhang', 60);
      expect(await r.pipeline.presentCode(forged)).toMatchObject({ decision: 'invalid_code', detail: { why: 'bad signature' } });
      addCard(ledger.db, 'PB-0001', 'zhang', 'now');
      await until(() => !r.relay.coil(r.coil), PULSE_MS * 4, 'the relay to drop');
      expect(await r.pipeline.presentCode('PB-0001')).toMatchObject({ by: 'card', decision: 'matched', unlocked: true });
      revokeCard(ledger.db, 'PB-0001', 'now');
      expect(await r.pipeline.presentCode('PB-0001')).toMatchObject({ by: 'card', decision: 'invalid_code', detail: { why: 'card revoked' } });
      expect(await r.pipeline.presentCode('PB-9999')).toMatchObject({ decision: 'invalid_code', detail: { why: 'unknown card' } });
    } finally {
      await r.stop();
    }
  }, 60_000);
});
