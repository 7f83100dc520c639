/**
 * A `block` / `unblock` aimed at one store (`store`) is refused, 400 naming `store`: the ledger
 * used to record it as the villager's village-wide status, so every later snapshot blocked the
 * villager at every store, while the stores following the stream blocked at the one store only.
 * A store-only status cannot hold either: the store's next snapshot, which carries one status
 * for all, would silently undo it. A village-wide block, and `resync` aimed at one store, go on.
 * A villager who left the village stays left: a block or unblock of them is refused (409).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../edge/log.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { villageSeq, villagerOf } from '../../cloud-sync/ledger/tables.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb, uid } from '../../harness/sync/rig.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';

describe(`store-targeted block and unblock (${ledgerDbKind})`, () => {
  let app: FastifyInstance;
  let db: SqlDb;
  let drop: () => Promise<void>;
  let service: LedgerService;
  const v = uid('va');
  const auth = { authorization: 'Bearer v-secret' };
  beforeAll(async () => {
    ({ db, drop } = await tempLedgerDb());
    service = new LedgerService({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'unused' } });
    app = buildLedgerApi({ db, service, log: silentLogger(), tokens: [{ token: 'town-secret', role: 'town' }, { token: 'v-secret', role: 'village', village: v }] });
    expect((await app.inject({ method: 'POST', url: '/api/villages', headers: { authorization: 'Bearer town-secret' }, payload: { id: v, name: '村' } })).statusCode).toBe(201);
    expect((await app.inject({ method: 'PUT', url: `/api/villages/${v}/villagers/zhang`, headers: auth, payload: { name: '张三' } })).statusCode).toBe(200);
  });
  afterAll(async () => {
    await app.close();
    await drop();
  });

  it('refuses block/unblock with `store` (bilingual 400 naming the field), changing nothing; village-wide block and a targeted resync go on', async () => {
    const seq = await villageSeq(db, v);
    for (const command of ['block', 'unblock'] as const) {
      const res = await app.inject({ method: 'POST', url: `/api/villages/${v}/commands`, headers: auth, payload: { command, villager: 'zhang', store: 's1' } });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'store', message: expect.stringContaining('every store'), zh: expect.stringContaining('全村') });
    }
    await expect(service.publishOnStream(v, 'command', { command: 'block', villager: 'zhang', store: 's1' })).rejects.toThrow(/every store/);
    expect((await villagerOf(db, 'zhang'))?.status).toBe('active');
    expect(await villageSeq(db, v)).toBe(seq);

    const resync = await app.inject({ method: 'POST', url: `/api/villages/${v}/commands`, headers: auth, payload: { command: 'resync', store: 's1' } });
    expect(resync.statusCode).toBe(200);
    const block = await app.inject({ method: 'POST', url: `/api/villages/${v}/commands`, headers: auth, payload: { command: 'block', villager: 'zhang' } });
    expect(block.statusCode).toBe(200);
    expect((await villagerOf(db, 'zhang'))?.status).toBe('blocked');
    expect(await villageSeq(db, v)).toBe(seq + 2);
  });

  it('refuses block/unblock of a villager who left (bilingual 409 naming the villager), changing nothing and publishing nothing', async () => {
    expect((await app.inject({ method: 'PUT', url: `/api/villages/${v}/villagers/wang`, headers: auth, payload: { name: '王五', status: 'left' } })).statusCode).toBe(200);
    const seq = await villageSeq(db, v);
    for (const command of ['unblock', 'block'] as const) {
      const res = await app.inject({ method: 'POST', url: `/api/villages/${v}/commands`, headers: auth, payload: { command, villager: 'wang' } });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'villager', message: expect.stringContaining('has left the village'), zh: expect.stringContaining('已迁出') });
    }
    expect((await villagerOf(db, 'wang'))?.status).toBe('left');
    expect(await villageSeq(db, v)).toBe(seq);
  });
});
