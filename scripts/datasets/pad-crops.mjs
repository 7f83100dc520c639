// Places every DIR/**/raw.jpg (a tight face crop) centred in a frame PAD times its width and
// height, written beside it as 00.jpg (quality 95), and removes raw.jpg. WIDTH > 0 first resizes
// the crop to that width (aspect kept; 0: as it is). FILL: `grey` (mid-grey) or `copy` (the
// crop's edge pixels repeated outwards: no frame-like border around the face).
// usage: node pad-crops.mjs DIR PAD [WIDTH] [grey|copy]
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

const [dir, padArg, widthArg = '0', fill = 'grey'] = process.argv.slice(2);
const pad = Number(padArg), width0 = Number(widthArg);
if (!dir || !Number.isFinite(pad) || pad < 1 || !Number.isInteger(width0) || width0 < 0 || !['grey', 'copy'].includes(fill)) {
  process.stderr.write('usage: node pad-crops.mjs DIR PAD [WIDTH] [grey|copy] (PAD ≥ 1, WIDTH an integer ≥ 0) / 用法：目录 放大倍数（≥ 1） [宽度] [grey|copy]\n');
  process.exit(2);
}
let n = 0;
for (const e of await readdir(dir, { recursive: true })) {
  if (!e.endsWith('raw.jpg')) continue;
  const src = join(dir, e);
  const crop = width0 > 0 ? await sharp(src).resize({ width: width0 }).toBuffer() : await sharp(src).toBuffer();
  const { width, height } = await sharp(crop).metadata();
  const W = Math.round(width * pad), H = Math.round(height * pad);
  const left = Math.round((W - width) / 2), top = Math.round((H - height) / 2);
  const out = fill === 'copy'
    ? sharp(crop).extend({ left, top, right: W - width - left, bottom: H - height - top, extendWith: 'copy' })
    : sharp({ create: { width: W, height: H, channels: 3, background: { r: 128, g: 128, b: 128 } } }).composite([{ input: crop, left, top }]);
  await out.jpeg({ quality: 95 }).toFile(join(src, '..', '00.jpg'));
  await rm(src);
  n++;
}
process.stdout.write(`padded ${n} crops ×${pad}\n`);
