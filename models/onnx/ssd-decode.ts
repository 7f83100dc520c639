/**
 * What face-api does after the SSD network (`ssdMobilenetv1/outputLayer.ts`,
 * `nonMaxSuppression.ts`, `SsdMobilenetv1.locateFaces`): decode each anchor's box encoding
 * (centre offsets / 10, log sizes / 5), keep the boxes above the minimum score by greedy
 * non-maximum suppression at IoU 0.5, and scale them from the padded square back to the frame.
 */
import { SSD_ANCHORS, SSD_INPUT } from './ssd.ts';

/** A detection relative to the frame (0..1 of its width and height). */
export interface RelativeDetection { score: number; left: number; top: number; width: number; height: number }

/** Decodes the encodings against the anchors (`Output/extra_dim`, [ymin, xmin, ymax, xmax]); returns [ymin, xmin, ymax, xmax] per anchor. */
export function decodeBoxes(encodings: Float32Array, anchors: Float32Array): Float32Array {
  if (encodings.length !== SSD_ANCHORS * 4 || anchors.length !== SSD_ANCHORS * 4) throw new Error(`ssd: ${encodings.length / 4} encodings for ${anchors.length / 4} anchors, expected ${SSD_ANCHORS}`);
  const out = new Float32Array(encodings.length);
  for (let i = 0; i < SSD_ANCHORS; i++) {
    const k = i * 4;
    const h = (anchors[k + 2] as number) - (anchors[k] as number);
    const w = (anchors[k + 3] as number) - (anchors[k + 1] as number);
    const cy = (anchors[k] as number) + h / 2;
    const cx = (anchors[k + 1] as number) + w / 2;
    const halfH = (Math.exp((encodings[k + 2] as number) / 5) * h) / 2;
    const y = ((encodings[k] as number) / 10) * h + cy;
    const halfW = (Math.exp((encodings[k + 3] as number) / 5) * w) / 2;
    const x = ((encodings[k + 1] as number) / 10) * w + cx;
    out[k] = y - halfH;
    out[k + 1] = x - halfW;
    out[k + 2] = y + halfH;
    out[k + 3] = x + halfW;
  }
  return out;
}

function iou(b: Float32Array, i: number, j: number): number {
  const yi0 = Math.min(b[i * 4] as number, b[i * 4 + 2] as number);
  const xi0 = Math.min(b[i * 4 + 1] as number, b[i * 4 + 3] as number);
  const yi1 = Math.max(b[i * 4] as number, b[i * 4 + 2] as number);
  const xi1 = Math.max(b[i * 4 + 1] as number, b[i * 4 + 3] as number);
  const yj0 = Math.min(b[j * 4] as number, b[j * 4 + 2] as number);
  const xj0 = Math.min(b[j * 4 + 1] as number, b[j * 4 + 3] as number);
  const yj1 = Math.max(b[j * 4] as number, b[j * 4 + 2] as number);
  const xj1 = Math.max(b[j * 4 + 1] as number, b[j * 4 + 3] as number);
  const ai = (yi1 - yi0) * (xi1 - xi0);
  const aj = (yj1 - yj0) * (xj1 - xj0);
  if (ai <= 0 || aj <= 0) return 0;
  const inter = Math.max(Math.min(yi1, yj1) - Math.max(yi0, yj0), 0) * Math.max(Math.min(xi1, xj1) - Math.max(xi0, xj0), 0);
  return inter / (ai + aj - inter);
}

/** face-api's greedy NMS: indices of the kept boxes, best first. */
export function nonMaxSuppression(boxes: Float32Array, scores: Float32Array, maxResults: number, iouThreshold: number, minScore: number): number[] {
  const candidates: { score: number; index: number }[] = [];
  for (let i = 0; i < scores.length; i++) if ((scores[i] as number) > minScore) candidates.push({ score: scores[i] as number, index: i });
  candidates.sort((a, b) => b.score - a.score);
  const selected: number[] = [];
  const limit = Math.min(maxResults, scores.length);
  for (const c of candidates) {
    if (selected.length >= limit) break;
    let suppressed = false;
    for (let j = selected.length - 1; j >= 0; j--) {
      const o = iou(boxes, c.index, selected[j] as number);
      if (o !== 0 && o > iouThreshold) { suppressed = true; break; }
    }
    if (!suppressed) selected.push(c.index);
  }
  return selected;
}

/** Detections of one frame of `width`×`height`, relative to the frame. */
export function ssdDetections(encodings: Float32Array, scores: Float32Array, anchors: Float32Array, width: number, height: number, minScore: number, maxResults: number): RelativeDetection[] {
  const boxes = decodeBoxes(encodings, anchors);
  const keep = nonMaxSuppression(boxes, scores, maxResults, 0.5, minScore);
  // the frame fills the top-left of the padded square: face-api's computeReshapedDimensions
  const s = SSD_INPUT / Math.max(width, height);
  const padX = SSD_INPUT / Math.round(width * s);
  const padY = SSD_INPUT / Math.round(height * s);
  return keep.map((i) => {
    const top = Math.max(0, boxes[i * 4] as number) * padY;
    const bottom = Math.min(1, boxes[i * 4 + 2] as number) * padY;
    const left = Math.max(0, boxes[i * 4 + 1] as number) * padX;
    const right = Math.min(1, boxes[i * 4 + 3] as number) * padX;
    return { score: scores[i] as number, left, top, width: right - left, height: bottom - top };
  });
}
