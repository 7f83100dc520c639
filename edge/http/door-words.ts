/**
 * The door's decisions in the words a villager maintainer uses ("刷卡放行", "未识别（3 帧都不像
 * 已登记村民）"), in Chinese or English, from what the entry pipeline recorded
 * (edge/entry/pipeline.ts: decision, method, detail). Raw distances and frame codes stay in
 * the JSON for whoever tunes the door; this is the sentence the live page shows.
 */
export type Lang = 'zh' | 'en';

export interface DoorDecision {
  decision: string;
  by: string;
  unlocked: boolean;
  detail: Record<string, unknown>;
}

const BY: Record<string, { zh: string; en: string }> = {
  face: { zh: '刷脸', en: 'Face' },
  card: { zh: '刷卡', en: 'Card' },
  qr: { zh: '扫码', en: 'QR code' },
  admin: { zh: '管理员', en: 'Admin' },
};

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** How many frames the face window looked at: `frames`, or the count of `seen` verdicts. */
function frameCount(d: Record<string, unknown>): number | null {
  const frames = num(d.frames);
  if (frames !== null) return frames;
  const seen = d.seen;
  if (typeof seen === 'string' && seen.length > 0) return seen.split(',').length;
  if (Array.isArray(seen)) return seen.length;
  return null;
}

/** Why a code or card was refused (pipeline.ts `why`), in the maintainer's words. */
function codeWhy(d: Record<string, unknown>, lang: Lang): string {
  const why = typeof d.why === 'string' ? d.why : '';
  const retry = num(d.retryAfterS);
  const table: Record<string, { zh: string; en: string }> = {
    'unknown card': { zh: '这张卡没有登记', en: 'this card is not registered' },
    'card revoked': { zh: '这张卡已挂失作废', en: 'this card was revoked' },
    'unreadable code': { zh: '读不出卡号或二维码', en: 'the code could not be read' },
    'card scans paused': { zh: `刷卡太频繁，暂停${retry !== null ? ` ${retry} 秒` : '片刻'}`, en: `too many card scans, paused${retry !== null ? ` for ${retry} s` : ''}` },
    'no QR public key configured': { zh: '门店没有配置二维码密钥', en: 'no QR key configured in this store' },
    'code of another village': { zh: '这是别村的二维码', en: 'a QR code of another village' },
    'code names no village': { zh: '二维码没有注明村庄，请刷新手机页面重新出示', en: 'the QR code names no village: refresh the phone page for a new one' },
  };
  const known = table[why];
  if (known) return known[lang];
  if (/expire/i.test(why)) return lang === 'zh' ? '二维码已过期，请重新生成' : 'the QR code has expired';
  if (/used|replay/i.test(why)) return lang === 'zh' ? '二维码已用过' : 'the QR code was already used';
  return lang === 'zh' ? '二维码或卡无效' : 'invalid QR code or card';
}

/** One sentence for one decision. */
export function decisionWords(e: DoorDecision, lang: Lang = 'zh'): string {
  const d = e.detail;
  const by = BY[e.by]?.[lang] ?? e.by;
  const n = frameCount(d);
  const frames = n !== null ? n : '';
  const debt = num(d.debt);
  switch (e.decision) {
    case 'matched':
      if (e.unlocked && d.confirmed === false) return lang === 'zh' ? `${by}放行（门锁没有回报已开，请检查门锁）` : `${by}: let in (the lock did not confirm it opened; check the lock)`;
      if (e.unlocked) return lang === 'zh' ? `${by}放行` : `${by}: let in`;
      if (d.refused === 'ledger_error') return lang === 'zh' ? `${by}认出了人，但读不出村民账户（存储故障），门没有开，请检查存储` : `${by}: recognised, but the villager's account could not be read (storage fault); not let in, check the storage`;
      if (typeof d.unlockError === 'string') return lang === 'zh' ? `${by}认出了人，但门锁没有打开，请检查门锁` : `${by}: recognised, but the lock did not open; check the lock`;
      return lang === 'zh' ? `${by}认出了人，但没有开门（${typeof d.why === 'string' ? d.why : '门店不接待'}）` : `${by}: recognised, not let in (${typeof d.why === 'string' ? d.why : 'refused'})`;
    case 'unknown':
      return lang === 'zh' ? `未识别（${frames} 帧都不像已登记村民）` : `Not recognised (none of ${frames} frames looks like an enrolled villager)`;
    case 'uncertain':
      return lang === 'zh' ? `认不准（${frames} 帧里像某位村民，但不够确定），请刷卡或扫码` : `Not sure (${frames} frames look like a villager, but not closely enough); asked for card or QR code`;
    case 'low_quality':
      return lang === 'zh' ? `看不清脸（${frames} 帧太暗、太模糊或离得太远）` : `Face not clear (${frames} frames too dark, blurred or too far)`;
    case 'spoof':
      return lang === 'zh' ? '像是照片或手机屏幕，不是真人，未放行' : 'Looked like a photo or a screen, not a person; not let in';
    case 'blocked':
      return lang === 'zh' ? `${by}：已冻结${debt !== null && debt > 0 ? `或欠 ${debt} 分` : '或欠分'}，未放行` : `${by}: blocked${debt !== null && debt > 0 ? ` or owes ${debt} points` : ' or in debt'}; not let in`;
    case 'offline_limit':
      return lang === 'zh' ? `${by}：断网期间今天的额度已用完，未放行` : `${by}: offline allowance for today used up; not let in`;
    case 'store_busy':
      return lang === 'zh' ? `${by}：店里有人，请稍候` : `${by}: someone is inside; asked to wait`;
    case 'no_consent':
      return lang === 'zh' ? '没有同意刷脸，请刷卡或扫码' : 'No consent to face recognition; asked for card or QR code';
    case 'invalid_code':
      if (d.refused === 'ledger_error') return lang === 'zh' ? `${by}未放行：读不出这张卡的登记（存储故障），请检查存储` : `${by} refused: the card's record could not be read (storage fault); check the storage`;
      return lang === 'zh' ? `${by}未放行：${codeWhy(d, lang)}` : `${by} refused: ${codeWhy(d, lang)}`;
    default:
      return e.decision;
  }
}
