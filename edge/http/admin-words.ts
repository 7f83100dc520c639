/**
 * The words of the admin page (`/`), `/review` and `/alarms`, in Chinese and English: what the
 * door decided, session phases, review reasons, refused sync messages, audited actions and the
 * statuses the tables show. Keys are the codes the ledger keeps; a code without words shows as
 * it is. The JSON API answers the Chinese beside the code (`decision_zh`, `phase_zh`, …).
 */
import type { Lang } from './door-words.ts';
import { scaleWords } from '../scale-words.ts';

export type Words = Record<string, string>;
export type Bilingual = Record<Lang, Words>;

/** `map[lang][key]`, or the key itself. */
export const say = (map: Bilingual, lang: Lang, key: string): string => map[lang][key] ?? key;

/** Why the door opened or not, as the maintainer reads it. */
export const DECISION: Bilingual = {
  zh: {
    matched: '已放行', uncertain: '无法确认，请刷卡或扫码', unknown: '未识别', low_quality: '画面质量不足', spoof: '疑似照片或屏幕',
    blocked: '已冻结或欠分', offline_limit: '离线额度已用完', store_busy: '店内有人，请稍候', no_consent: '未授权刷脸', invalid_code: '无效的二维码或卡',
  },
  en: {
    matched: 'let in', uncertain: 'not sure: asked for card or QR code', unknown: 'not recognised', low_quality: 'picture not good enough', spoof: 'looked like a photo or a screen',
    blocked: 'blocked or in debt', offline_limit: 'offline allowance used up', store_busy: 'someone inside: asked to wait', no_consent: 'no consent to face recognition', invalid_code: 'invalid QR code or card',
  },
};

export const BY: Bilingual = {
  zh: { face: '刷脸', qr: '二维码', card: '积分卡', admin: '管理员' },
  en: { face: 'face', qr: 'QR code', card: 'card', admin: 'admin' },
};

export const PHASE: Bilingual = {
  zh: { idle: '空闲（店内无人）', entering: '已开锁，等待进门', shopping: '购物中', restocking: '补货中', exiting: '正在离店', settling: '结算中', settled: '已结算', fault: '故障', unknown: '未知' },
  en: { idle: 'Idle (nobody inside)', entering: 'Unlocked, waiting to enter', shopping: 'Shopping', restocking: 'Restocking', exiting: 'Leaving', settling: 'Settling', settled: 'Settled', fault: 'Fault', unknown: 'Unknown' },
};

/** Review reasons (edge/session/cart.ts, and the restock stock check in the session engine). */
export const REVIEW: Bilingual = {
  zh: {
    not_whole_count: '重量不是整件数', unexpected_increase: '货位重量意外增加', wrong_slot_return: '商品放错货位', moved_out: '商品被放到别的货位',
    not_stable: '离店时货架仍在晃动', scale_unavailable: '秤没有读数', no_product: '货位没有绑定商品',
    stock_clipped: '取走的比账上库存多（库存已记为 0，请盘点；购物已照常扣分）', offline_limit: '离线期间超出每日额度（已照常扣分）',
  },
  en: {
    not_whole_count: 'weight is not a whole number of items', unexpected_increase: 'weight on the slot went up unexpectedly', wrong_slot_return: 'item put back on the wrong slot', moved_out: 'item moved to another slot',
    not_stable: 'shelf still moving at exit', scale_unavailable: 'no reading from the scale', no_product: 'no product on the slot',
    stock_clipped: 'more taken than the stock on the books (stock set to 0, count the shelf; the purchase was charged as usual)', offline_limit: 'over the daily allowance while offline (charged as usual)',
  },
};

/** Why the store refused a message from the village ledger (cloud-sync/protocol/payloads.ts). */
export const REFUSED: Bilingual = {
  zh: { unsigned: '未签名', forged: '签名不符', replayed: '重复或过期序号', expired: '已过期', invalid: '格式不正确' },
  en: { unsigned: 'unsigned', forged: 'bad signature', replayed: 'repeated or old', expired: 'expired', invalid: 'malformed' },
};

export const ACTION: Bilingual = {
  zh: {
    'points.award': '在终端手工加分', 'points.penalty': '在终端手工扣分', 'points.adjust': '在终端手工调整积分', 'product.set': '在终端设置商品', 'slot.set': '在终端设置货位', 'villager.add': '在终端登记村民', 'villager.status': '在终端更改村民状态',
    'account.create': '创建管理账号', 'account.lock': '账号因密码错误被锁定', 'account.unlock': '解除账号锁定', 'account.password': '重设密码',
    'villager.block': '冻结村民', 'villager.unblock': '解冻村民', 'review.waive': '核对：免扣', 'review.charge': '核对：补扣积分',
    'review.correct': '核对：更正并扣分', 'review.acknowledge': '核对：已核对（结算时已扣分）', 'card.issue': '发积分卡', 'card.revoke': '挂失积分卡', 'alarm.acknowledge': '确认告警', 'alarm.clear': '手动解除告警',
    'door.sensor_override': '确认门磁故障（当门关着）', 'door.sensor_override_withdraw': '撤销门磁故障确认', 'face.enrol': '登记人脸', 'face.learn': '门口学到新的人脸模板', 'face.withdraw': '撤回刷脸同意（删除模板）', 'face.retention': '村民离开满保留期：删除人脸模板并撤销同意', 'face.retention.photos': '删除未同意村民保存的录入照片',
    'product.add': '新增商品', 'product.edit': '修改商品', 'receipt.refund': '退款退积分', 'slot.assign': '货位绑定商品', 'slot.calibrate': '货位校准', 'slot.count': '货位盘点', 'slot.zero': '货位清零',
  },
  en: {
    'points.award': 'points awarded by hand at the terminal', 'points.penalty': 'points deducted by hand at the terminal', 'points.adjust': 'points adjusted by hand at the terminal', 'product.set': 'product set at the terminal', 'slot.set': 'slot set at the terminal', 'villager.add': 'villager added at the terminal', 'villager.status': 'villager status changed at the terminal',
    'account.create': 'account created', 'account.lock': 'account locked (wrong passwords)', 'account.unlock': 'account unlocked', 'account.password': 'password reset',
    'villager.block': 'villager blocked', 'villager.unblock': 'villager unblocked', 'review.waive': 'review: waived', 'review.charge': 'review: points charged',
    'review.correct': 'review: corrected and charged', 'review.acknowledge': 'review: checked (charged at settlement)', 'card.issue': 'card issued', 'card.revoke': 'card revoked', 'alarm.acknowledge': 'alarm acknowledged', 'alarm.clear': 'alarm cleared by hand',
    'door.sensor_override': 'door sensor overridden (door counted closed)', 'door.sensor_override_withdraw': 'door sensor override withdrawn', 'face.enrol': 'face enrolled', 'face.learn': 'face template learned at the door', 'face.withdraw': 'face consent withdrawn (templates deleted)', 'face.retention': 'villager left long enough ago: face templates deleted, consent ended', 'face.retention.photos': 'kept enrolment photos of a villager without consent deleted',
    'product.add': 'product added', 'product.edit': 'product edited', 'receipt.refund': 'receipt refunded', 'slot.assign': 'slot assigned', 'slot.calibrate': 'slot calibrated', 'slot.count': 'slot counted', 'slot.zero': 'slot zeroed',
  },
};

export const VILLAGER_STATUS: Bilingual = {
  zh: { active: '正常', blocked: '已冻结', left: '已迁出' },
  en: { active: 'active', blocked: 'blocked', left: 'left' },
};

export const ROLE: Bilingual = {
  zh: { maintainer: '门店维护员', village_admin: '村管理员' },
  en: { maintainer: 'maintainer', village_admin: 'village admin' },
};

export const SEVERITY: Bilingual = { zh: { critical: '严重', warning: '警告' }, en: { critical: 'critical', warning: 'warning' } };

export const HEALTH: Bilingual = {
  zh: { ok: '正常', degraded: '降级', fault: '故障（需处理）', starting: '启动中', stopping: '停止中', failed: '故障', stopped: '已停止' },
  en: { ok: 'OK', degraded: 'degraded', fault: 'fault (needs attention)', starting: 'starting', stopping: 'stopping', failed: 'failed', stopped: 'stopped' },
};

export const SESSION_STATUS: Bilingual = {
  zh: { open: '进行中', settled: '已结算', cancelled: '已取消' },
  en: { open: 'open', settled: 'settled', cancelled: 'cancelled' },
};

/** The door's detail keys (edge/entry/pipeline.ts) as the maintainer reads them; others as they are. */
export const DETAIL: Bilingual = {
  zh: { card: '卡号', token: '二维码', distance: '人脸距离', margin: '领先第二名', frames: '帧数', seen: '各帧结果', nearest: '最像', ir: '红外', why: '原因', unlockError: '开锁失败', offlineAllowance: '今日离线余额', debt: '欠分' },
  en: { card: 'card', token: 'QR code', distance: 'face distance', margin: 'lead over second', frames: 'frames', seen: 'per frame', nearest: 'nearest', ir: 'infrared', why: 'why', unlockError: 'unlock failed', offlineAllowance: 'offline allowance left today', debt: 'debt' },
};

/** What each face frame was judged (edge/entry/decision.ts FrameVerdict kinds). */
const FRAME: Bilingual = {
  zh: { unknown: '不像已登记村民', uncertain: '像某位村民但不够确定', candidate: '认出', no_face: '没有人脸', low_quality: '看不清', spoof: '疑似照片或屏幕' },
  en: { unknown: 'not an enrolled villager', uncertain: 'like a villager, not sure', candidate: 'recognised', no_face: 'no face', low_quality: 'not clear', spoof: 'looks like a photo or screen' },
};

/**
 * One part of a door event's detail in the page's words: `各帧结果 不像已登记村民 ×5、没有人脸 ×1`,
 * `门锁已回报开启`, never `confirmed true` or raw frame codes; other keys under their label.
 */
export function detailPart(key: string, v: unknown, lang: Lang): string {
  if (key === 'confirmed' && typeof v === 'boolean') {
    return lang === 'zh' ? (v ? '门锁已回报开启' : '门锁没有回报已开') : v ? 'the lock confirmed it opened' : 'the lock did not confirm it opened';
  }
  if (key === 'seen' && (typeof v === 'string' || Array.isArray(v))) {
    const kinds = (Array.isArray(v) ? v.map(String) : v.split(',')).map((s) => s.trim()).filter(Boolean);
    // a sentence (a spoof's reason) rather than frame codes: said as it is
    if (kinds.some((k) => !(k in FRAME.zh))) return `${say(DETAIL, lang, key)} ${kinds.join(', ')}`;
    const counts = new Map<string, number>();
    for (const k of kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
    return `${say(DETAIL, lang, key)} ${[...counts].map(([k, n]) => `${say(FRAME, lang, k)}${n > 1 ? ` ×${n}` : ''}`).join(lang === 'zh' ? '、' : ', ')}`;
  }
  const value = typeof v === 'boolean' ? (lang === 'zh' ? (v ? '是' : '否') : v ? 'yes' : 'no') : typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : JSON.stringify(v);
  return `${say(DETAIL, lang, key)} ${value}`;
}

/**
 * An alarm's detail in the page's language. Details are raised in both languages
 * (`English / 中文`) and shown as they are; a scale alarm raised in English only, before the scale
 * watch said both (edge/hardware.ts), as the alarm watch stored it (`scale A1 zero: zero drifted
 * …`) or bare, is said in Chinese on a Chinese page with the watch's own words
 * (edge/scale-words.ts); any other as it is.
 */
const DETAIL_ZH: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/^zero drifted (-?[\d.]+) g; zero the slot when it is empty$/, (m) => scaleWords.zeroDrift(Number(m[1])).zh],
  [/^implausible reading \((.+), (-?[\d.]+) g\), not trusted$/, (m) => scaleWords.implausible(m[1]!, Number(m[2])).zh],
  [/^the scale module does not answer$/, () => scaleWords.noReply().zh],
];
/** The health line an alarm watch's detail starts with (edge/ops/alarm-watch.ts): `scale A1: ` or `scale A1 zero: `. */
const SCALE_LINE = /^scale (\S+)( zero)?: (.*)$/s;
function englishOnlyZh(detail: string): string | undefined {
  for (const [re, zh] of DETAIL_ZH) {
    const m = re.exec(detail);
    if (m) return zh(m);
  }
  return undefined;
}
export function alarmDetail(detail: string, lang: Lang): string {
  if (lang === 'en') return detail;
  const line = SCALE_LINE.exec(detail);
  if (line) {
    const zh = englishOnlyZh(line[3]!);
    return zh === undefined ? detail : `秤 ${line[1]}${line[2] ? ' 零点' : ''}：${zh}`;
  }
  return englishOnlyZh(detail) ?? detail;
}

/** The link to the page in the other language, and its text (the other language's own name). */
export const otherLang = (lang: Lang, path: string): string => `<a href="${path}${path.includes('?') ? '&amp;' : '?'}lang=${lang === 'zh' ? 'en' : 'zh'}" id="lang-switch">${lang === 'zh' ? 'English' : '中文'}</a>`;
