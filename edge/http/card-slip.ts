/**
 * The printable slip of a new passbook card: the store, the villager, the card number and the
 * same number as a QR code (the door's scanner reads a QR code of a card number as the card,
 * edge/entry/credentials.ts classifyScan). Shown once, to the maintainer who issued the card;
 * printed with the browser's own print command (the page hides its links when printed).
 */
import QRCode from 'qrcode';
import { esc } from './admin-sections.ts';
import { layout } from './pages.ts';

export async function cardSlipPage(d: { storeName: string; villagerId: string; villagerName: string; cardNo: string }): Promise<string> {
  // SVG markup, not a script or an image from elsewhere: the page's CSP holds
  const svg = await QRCode.toString(d.cardNo, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 220 });
  return layout(`${d.storeName} · 积分卡`, `<style>@media print{.no-print{display:none}}.slip{border:2px dashed #888;padding:1rem 1.5rem;max-width:22rem}.slip svg{width:220px;height:220px}</style>
<p class="no-print" id="message">已为 ${esc(d.villagerName)} 发卡：${esc(d.cardNo)}（请抄在存折上，挂失时用）。请用浏览器的“打印”打印下面的卡片（卡号只显示这一次，挂失时需要它）。 Card issued: print the slip below with the browser's Print (the number is shown only this once). · <a href="/villagers/${esc(encodeURIComponent(d.villagerId))}">返回 Back</a></p>
<div class="slip" id="card-slip"><h2>${esc(d.storeName)} · 积分卡</h2><p>${esc(d.villagerName)}（${esc(d.villagerId)}）</p><div id="card-qr">${svg}</div><p id="card-no"><strong>${esc(d.cardNo)}</strong></p><p>进门时把二维码对准扫码器，或刷积分卡。丢失请到门店挂失。</p></div>`);
}
