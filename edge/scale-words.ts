/**
 * What the scale watch (edge/hardware.ts) says of a slot, in English and Chinese: its health
 * lines become the `scale_fault` alarms' details, which, like every other alarm's, carry both
 * languages (`English / 中文`). The admin pages read the English sentences of alarms raised
 * before they did (edge/http/admin-words.ts alarmDetail) with the same words.
 */
export interface Words { en: string; zh: string }
export type ScaleWords = Words;

/** An implausible reading's reason (drivers/scales/reading.ts ImplausibleReason) in Chinese; another as it is. */
export const IMPLAUSIBLE_ZH: Readonly<Record<string, string>> = {
  overload: '过载',
  overflow: '数值溢出',
  beyond_capacity: '超出量程',
  negative: '负值',
};

export const scaleWords = {
  implausible: (reason: string, grams: number): ScaleWords => ({
    en: `implausible reading (${reason}, ${grams} g), not trusted`,
    zh: `读数不合理（${IMPLAUSIBLE_ZH[reason] ?? reason}，${grams} 克），不予采信`,
  }),
  noReply: (): ScaleWords => ({ en: 'the scale module does not answer', zh: '秤模块没有应答' }),
  zeroDrift: (driftG: number): ScaleWords => ({ en: `zero drifted ${driftG} g; zero the slot when it is empty`, zh: `零点漂移 ${driftG} 克；请在货位空着时归零` }),
};

/** Both languages in one line, as alarm details are written (the lock's, bus's and scanner's too: edge/hardware-words.ts). */
export const bothLanguages = (w: Words): string => `${w.en} / ${w.zh}`;
