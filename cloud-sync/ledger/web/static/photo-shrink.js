/* global createImageBitmap, document, File, Image, URL, window */
/**
 * A photo made small before it goes over the village Wi-Fi: `shrinkPhoto(file)` answers a JPEG
 * (quality 0.85) at most PHOTO_MAX_SIDE px a side, upright (its EXIF orientation applied, as the
 * phone shows it), drawn on a canvas. A phone's photo of 3–8 MB becomes a few hundred kB; the
 * ledger keeps at most 2048 px a side anyway (governance/evidence.ts), and its upload limit stays
 * the guard for what a page did not shrink. An iPhone's HEIC photo, which the ledger cannot read,
 * becomes a JPEG this way where the browser decodes it (Safari does). What the browser cannot
 * decode is answered as it is, and the ledger's refusal says what to do.
 */
'use strict';

(() => {
  /** The longest side of a photo sent, in px: enough to read a face or a licence plate on a lane. */
  const PHOTO_MAX_SIDE = 1600;
  const QUALITY = 0.85;

  /** The picture in `file`, decoded upright (null when it cannot be): an image bitmap, else an <img> (blob: URLs are allowed by the CSP). */
  async function decodePhoto(file) {
    try {
      return await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch {
      const url = URL.createObjectURL(file);
      try {
        const img = new Image();
        img.src = url;
        await img.decode();
        return img;
      } catch {
        return null;
      } finally {
        URL.revokeObjectURL(url);
      }
    }
  }

  window.shrinkPhoto = async (file) => {
    const pic = await decodePhoto(file);
    if (!pic) return file;
    const w = pic.naturalWidth || pic.width;
    const h = pic.naturalHeight || pic.height;
    const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(w, h));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff'; // a transparent PNG on white, not black
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(pic, 0, 0, canvas.width, canvas.height);
    if (pic.close) pic.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
    if (!blob) return file;
    return new File([blob], `${file.name.replace(/\.[^.]*$/, '') || 'photo'}.jpg`, { type: 'image/jpeg' });
  };
})();
