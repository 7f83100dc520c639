/**
 * Sends each village's public board to its stores: computed again when anything it is computed
 * from has changed (checked every `checkMs`, by a cheap change token), and sent again every
 * `refreshMs` even when nothing changed, so a store can tell fresh data from old. Each board is
 * a signed envelope of kind `board` whose `seq` is its version: it only ever grows (at least
 * the time in milliseconds, so a ledger restored from an older backup still goes forward).
 * The broker retains the latest per village, so a store that connects has it at once.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../../edge/log.ts';
import type { SqlDb } from '../sql.ts';
import { canonicalJson, signEnvelope, type SigningKey } from '../../protocol/sign.ts';
import type { Envelope } from '../../protocol/payloads.ts';
import { boardChangeToken, computeBoard } from './compute.ts';

export interface BoardPublisherOptions {
  db: SqlDb;
  key: SigningKey;
  /** Publishes one village's board (retained); false when the broker did not take it. */
  publish: (village: string, envelope: Envelope) => Promise<boolean>;
  log: Logger;
  clock?: () => Date;
  /** How often the change tokens are checked (default 5 s). */
  checkMs?: number;
  /** A board is sent again after this long even when unchanged (default 5 minutes). */
  refreshMs?: number;
  /** Lifetime of a board envelope (default a day): a store refuses an older one as expired. */
  lifetimeMs?: number;
}

interface Published { version: number; change_token: string; published_at: string }

export class BoardPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly clock: () => Date;

  constructor(private readonly opts: BoardPublisherOptions) {
    this.clock = opts.clock ?? (() => new Date());
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.checkMs ?? 5000);
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over the villages with stores; a pass already running is waited for, not doubled. */
  tick(): Promise<void> {
    if (!this.running) {
      this.running = this.pass().catch((err: unknown) => this.opts.log.error({ err }, 'board publishing failed; will retry / 公示栏数据发布失败，稍后重试')).finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  /** Publishes the village's board now if it changed or is due (`force`: in any case). */
  async publishVillage(village: string, force = false): Promise<{ published: boolean; version?: number }> {
    const db = this.opts.db;
    const now = this.clock();
    const token = await boardChangeToken(db, village, now);
    const [last] = await db.query<Published>('SELECT version, change_token, published_at FROM board_published WHERE village = $1', [village]);
    const due = !last || last.change_token !== token || now.getTime() - Date.parse(last.published_at) >= (this.opts.refreshMs ?? 300_000);
    if (!force && !due) return { published: false };
    const body = await computeBoard(db, village, now);
    const { computed_at: _at, ...content } = body;
    const digest = createHash('sha256').update(canonicalJson(content)).digest('hex');
    const version = Math.max(Number(last?.version ?? 0) + 1, now.getTime());
    const envelope = signEnvelope({
      v: 1, id: `board:${village}:${version}`, kind: 'board', village, seq: version,
      issued_at: now.toISOString(), expires_at: new Date(now.getTime() + (this.opts.lifetimeMs ?? 86_400_000)).toISOString(), body,
    }, this.opts.key);
    if (!(await this.opts.publish(village, envelope))) return { published: false };
    await db.run(
      `INSERT INTO board_published (village, version, digest, change_token, published_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (village) DO UPDATE SET version = $2, digest = $3, change_token = $4, published_at = $5`,
      [village, version, digest, token, now.toISOString()],
    );
    return { published: true, version };
  }

  private async pass(): Promise<void> {
    const villages = await this.opts.db.query<{ village: string }>('SELECT DISTINCT village FROM stores ORDER BY village');
    for (const { village } of villages) {
      try {
        await this.publishVillage(village);
      } catch (err) {
        this.opts.log.error({ err, village }, 'board of a village failed; will retry / 该村公示栏数据发布失败，稍后重试');
      }
    }
  }
}
