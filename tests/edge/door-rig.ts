/**
 * The door sensor override's tests (door-override*.test.ts): a running session engine whose door
 * sensor reports the door open as the daemon starts, no visit open, with the store's alarm board
 * and the admin app over it, and a signed-in maintainer.
 */
import { pino, type Logger } from 'pino';
import { buildApp, type App } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { store } from '../session/rig.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

export interface DoorRig {
  rig: ReturnType<typeof store>;
  board: AlarmBoard;
  app: App;
  s: Signed;
  stop(): Promise<void>;
}

/** `logger`: the engine's and the alarm board's (silent unless given). */
export async function doorRig(opts: { logger?: Logger } = {}): Promise<DoorRig> {
  const log = opts.logger ?? pino({ level: 'silent' });
  // the engine asks for its alarm board only once started (door-override.ts restore)
  const rig = store({ start: false, alarms: () => board, logger: log });
  const board = new AlarmBoard(() => rig.db, log);
  rig.lock.doorState = 'open'; // the sensor stuck open as the daemon starts, no visit open
  rig.engine.start();
  const app = buildApp({
    store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => rig.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, session: rig.engine,
    ops: { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never, alarms: (limit) => ({ active: board.active(), recent: board.recent(limit) }) },
  }, log);
  const s = await signedIn(app, rig.db);
  return {
    rig, board, app, s,
    stop: async () => {
      rig.engine.stop();
      await app.close();
    },
  };
}
