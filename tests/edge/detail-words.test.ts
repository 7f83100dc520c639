/**
 * Details shown on Chinese pages are Chinese: an alarm's detail raised in English by the
 * hardware watch (edge/hardware.ts), and the door log's `confirmed` and per-frame verdicts.
 */
import { describe, expect, it } from 'vitest';
import { alarmDetail, detailPart } from '../../edge/http/admin-words.ts';
import { alarmCells } from '../../edge/http/alarms-section.ts';
import type { AlarmRow } from '../../edge/ledger/alarms.ts';

describe('alarm details in the page\'s language', () => {
  it('the scale alarms the hardware watch raises are said in Chinese on a Chinese page, as raised on an English one', () => {
    const drift = 'zero drifted 22 g; zero the slot when it is empty';
    expect(alarmDetail(drift, 'zh')).toBe('零点漂移 22 克；请在货位空着时归零');
    expect(alarmDetail(drift, 'en')).toBe(drift);
    expect(alarmDetail('implausible reading (jump, 5000 g), not trusted', 'zh')).toBe('读数不合理（jump，5000 克），不予采信');
    expect(alarmDetail('the scale module does not answer', 'zh')).toBe('秤模块没有应答');
    expect(alarmDetail('门磁开着', 'zh')).toBe('门磁开着');
  });
  it('an English-only scale alarm kept from before, as the watch stored it (the health line named first), is said in Chinese too', () => {
    expect(alarmDetail('scale B1 zero: zero drifted 22 g; zero the slot when it is empty', 'zh')).toBe('秤 B1 零点：零点漂移 22 克；请在货位空着时归零');
    expect(alarmDetail('scale A1: the scale module does not answer', 'zh')).toBe('秤 A1：秤模块没有应答');
    expect(alarmDetail('scale A1: implausible reading (beyond_capacity, 12000 g), not trusted', 'zh')).toBe('秤 A1：读数不合理（超出量程，12000 克），不予采信');
    expect(alarmDetail('scale A1: the scale module does not answer', 'en')).toBe('scale A1: the scale module does not answer');
  });
  it('/alarms shows it so', () => {
    const a = { id: 1, kind: 'part_degraded', subject: 'scale B1 zero', severity: 'warning', detail: 'zero drifted 22 g; zero the slot when it is empty', raised_at: '2026-12-05T05:00:00.000Z', seen: 1 } as unknown as AlarmRow;
    expect(alarmCells(a, 'zh')).toContain('<td class="detail">零点漂移 22 克；请在货位空着时归零</td>');
    expect(alarmCells(a, 'en')).toContain('<td class="detail">zero drifted 22 g; zero the slot when it is empty</td>');
  });
});

describe('the door log in the page\'s words', () => {
  it('confirmed: the lock\'s answer in words, not `confirmed true`', () => {
    expect(detailPart('confirmed', true, 'zh')).toBe('门锁已回报开启');
    expect(detailPart('confirmed', false, 'en')).toBe('the lock did not confirm it opened');
  });
  it('seen: the frames\' verdicts counted in words, not `unknown,unknown,…`', () => {
    expect(detailPart('seen', 'unknown,unknown,no_face,unknown', 'zh')).toBe('各帧结果 不像已登记村民 ×3、没有人脸');
    expect(detailPart('seen', 'unknown,low_quality', 'en')).toBe('per frame not an enrolled villager, not clear');
    expect(detailPart('card', 'PB-****07', 'zh')).toBe('卡号 PB-****07');
  });
});
