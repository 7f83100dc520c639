/** The door's decisions in a maintainer's words, Chinese and English, from what the pipeline records. */
import { describe, expect, it } from 'vitest';
import { decisionWords, type DoorDecision } from '../../edge/http/door-words.ts';

const d = (decision: string, by: string, detail: Record<string, unknown> = {}, unlocked = false): DoorDecision => ({ decision, by, detail, unlocked });

describe('decision words', () => {
  it.each([
    [d('matched', 'card', {}, true), '刷卡放行', 'Card: let in'],
    [d('matched', 'face', { distance: 0.1, margin: 0.4, frames: 2 }, true), '刷脸放行', 'Face: let in'],
    [d('matched', 'qr', {}, true), '扫码放行', 'QR code: let in'],
    [d('matched', 'card', { confirmed: false }, true), '刷卡放行（门锁没有回报已开，请检查门锁）', 'Card: let in (the lock did not confirm it opened; check the lock)'],
    [d('matched', 'face', { unlockError: 'TIMEOUT' }), '刷脸认出了人，但门锁没有打开，请检查门锁', 'Face: recognised, but the lock did not open; check the lock'],
    [d('invalid_code', 'card', { refused: 'ledger_error', card: 'PB-****01', why: 'the card could not be looked up: disk I/O error' }), '刷卡未放行：读不出这张卡的登记（存储故障），请检查存储', 'Card refused: the card\'s record could not be read (storage fault); check the storage'],
    [d('matched', 'face', { refused: 'ledger_error', why: 'the villager\'s standing could not be read: disk I/O error' }), '刷脸认出了人，但读不出村民账户（存储故障），门没有开，请检查存储', 'Face: recognised, but the villager\'s account could not be read (storage fault); not let in, check the storage'],
    [d('unknown', 'face', { frames: 3, seen: 'unknown,unknown,unknown' }), '未识别（3 帧都不像已登记村民）', 'Not recognised (none of 3 frames looks like an enrolled villager)'],
    [d('unknown', 'face', { seen: 'unknown,unknown,unknown,unknown' }), '未识别（4 帧都不像已登记村民）', 'Not recognised (none of 4 frames looks like an enrolled villager)'],
    [d('uncertain', 'face', { frames: 5, nearest: 'V001', distance: 0.33 }), '认不准（5 帧里像某位村民，但不够确定），请刷卡或扫码', 'Not sure (5 frames look like a villager, but not closely enough); asked for card or QR code'],
    [d('low_quality', 'face', { frames: 3 }), '看不清脸（3 帧太暗、太模糊或离得太远）', 'Face not clear (3 frames too dark, blurred or too far)'],
    [d('blocked', 'card', { debt: 12 }), '刷卡：已冻结或欠 12 分，未放行', 'Card: blocked or owes 12 points; not let in'],
    [d('store_busy', 'face'), '刷脸：店里有人，请稍候', 'Face: someone is inside; asked to wait'],
    [d('no_consent', 'face'), '没有同意刷脸，请刷卡或扫码', 'No consent to face recognition; asked for card or QR code'],
    [d('invalid_code', 'card', { why: 'unknown card', card: 'PB-****01' }), '刷卡未放行：这张卡没有登记', 'Card refused: this card is not registered'],
    [d('invalid_code', 'card', { why: 'card revoked' }), '刷卡未放行：这张卡已挂失作废', 'Card refused: this card was revoked'],
    [d('invalid_code', 'card', { why: 'card scans paused', retryAfterS: 30 }), '刷卡未放行：刷卡太频繁，暂停 30 秒', 'Card refused: too many card scans, paused for 30 s'],
    [d('invalid_code', 'qr', { why: 'token expired at 2026-11-30T12:00:00Z' }), '扫码未放行：二维码已过期，请重新生成', 'QR code refused: the QR code has expired'],
    [d('invalid_code', 'qr', { why: 'code of another village', village: 'a' }), '扫码未放行：这是别村的二维码', 'QR code refused: a QR code of another village'],
    [d('invalid_code', 'qr', { why: 'code names no village' }), '扫码未放行：二维码没有注明村庄，请刷新手机页面重新出示', 'QR code refused: the QR code names no village: refresh the phone page for a new one'],
    [d('offline_limit', 'qr'), '扫码：断网期间今天的额度已用完，未放行', 'QR code: offline allowance for today used up; not let in'],
  ])('%#: %o', (e, zh, en) => {
    expect(decisionWords(e, 'zh')).toBe(zh);
    expect(decisionWords(e, 'en')).toBe(en);
  });

  it('never shows raw distances or frame codes', () => {
    const words = decisionWords(d('uncertain', 'face', { frames: 3, seen: 'candidate,unknown,unknown', distance: 0.099, margin: 1.901 }));
    expect(words).not.toMatch(/0\.099|1\.901|candidate/);
  });
});
