/**
 * What the hardware part (edge/hardware.ts) says of the lock, the RS-485 buses and the scanner,
 * in English and Chinese, as the scale watch says its lines (edge/scale-words.ts): health lines
 * show on /readyz and the lock's become the `lock_not_confirmed` alarms' details, bilingual
 * (`English / 中文`, bothLanguages) as every alarm's. The English half is what it was before,
 * word for word: the driver's reason and detail stay in it as they came.
 */
import type { Words } from './scale-words.ts';

/** A lock alarm's reason (drivers/lock/lock-driver.ts LockAlarmReason) in Chinese; another as it is. */
const LOCK_ALARM_ZH: Readonly<Record<string, string>> = {
  relay_stuck_on: '继电器在脉冲和断开命令之后仍然吸合，门可能没有锁上：请到现场查看',
  release_unconfirmed: '开锁脉冲之后读不到继电器，无法确认门已重新锁上：请到现场查看',
};

/** A port's reason from a driver (drivers/modbus/bus.ts, drivers/scanner/scanner-driver.ts) in Chinese, its error text kept. */
function portReasonZh(reason: string): string {
  if (reason === 'port closed') return '端口已关闭';
  const open = /^cannot open: (.*)$/s.exec(reason);
  if (open) return `无法打开端口：${open[1]}`;
  return reason;
}

export const lockWords = {
  alarm: (reason: string, detail: string): Words => ({ en: `${reason}: ${detail}`, zh: LOCK_ALARM_ZH[reason] ?? `门锁告警（${reason}）` }),
  unlockFailed: (code: string, detail: string): Words => ({ en: `unlock failed (${code}): ${detail}`, zh: `开锁失败（${code}）` }),
  unlockUnconfirmed: (): Words => ({
    en: 'unlock pulse sent but the relay could not be read back; the release check follows',
    zh: '开锁脉冲已发出，但读不到继电器状态；随后检查门是否重新锁上',
  }),
  inputsUnread: (polls: number): Words => ({
    en: `the relay board's inputs went unread for ${polls} polls: door contact and exit button unknown`,
    zh: `继电器板的输入连续 ${polls} 次未读到：门磁和出门按钮状态未知`,
  }),
};

export const busWords = {
  /** An RS-485 bus gone degraded: it is reopened with backoff. */
  down: (reason: string): Words => ({ en: reason, zh: `RS-485 总线连接中断（${portReasonZh(reason)}），正在重新连接` }),
};

export const scannerWords = {
  /** The scanner's port lost or not opened: it is reopened with backoff. */
  down: (reason: string): Words => ({ en: reason, zh: `扫码枪连接中断（${portReasonZh(reason)}），正在重新连接` }),
};
