/**
 * What face-api does after the tiny detector's network (`TinyYolov2Base.extractBoxes` and
 * `ops/nonMaxSuppression.ts`): each cell's five anchors give a box (sigmoid centre in the cell,
 * exp size times the anchor) and a sigmoid score; boxes above the minimum score are kept by
 * greedy non-maximum suppression at IoU 0.4, relative to the frame.
 */
import type { RelativeDetection } from './ssd-decode.ts';

/** face-api's tiny detector anchors (width, height in cells). */
const ANCHORS: readonly (readonly [number, number])[] = [
  [1.603231, 2.094468], [6.041143, 7.080126], [2.882459, 3.518061], [4.266906, 5.178857], [9.041765, 10.66308],
];
const IOU_THRESHOLD = 0.4;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

interface Candidate { score: number; left: number; top: number; right: number; bottom: number }

function iou(a: Candidate, b: Candidate): number {
  const w = Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left));
  const h = Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
  const inter = w * h;
  return inter / ((a.right - a.left) * (a.bottom - a.top) + (b.right - b.left) * (b.bottom - b.top) - inter);
}

/** Detections of a `width`×`height` frame from the `grid` output ([cells, cells, 25]) at `inputSize`. */
export function tinyDetections(grid: Float32Array, inputSize: number, width: number, height: number, minScore: number): RelativeDetection[] {
  const cells = Math.round(Math.sqrt(grid.length / (ANCHORS.length * 5)));
  if (cells * cells * ANCHORS.length * 5 !== grid.length) throw new Error(`tiny detector: ${grid.length} outputs are not a square grid`);
  // the frame fills the top-left of the square input: face-api's computeReshapedDimensions
  const s = inputSize / Math.max(width, height);
  const rw = Math.round(width * s);
  const rh = Math.round(height * s);
  const side = Math.max(rw, rh);
  const fx = side / rw;
  const fy = side / rh;
  const found: Candidate[] = [];
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      for (let a = 0; a < ANCHORS.length; a++) {
        const k = ((row * cells + col) * ANCHORS.length + a) * 5;
        const score = sigmoid(grid[k + 4] as number);
        if (minScore && score <= minScore) continue;
        const [aw, ah] = ANCHORS[a] as readonly [number, number];
        const cx = ((col + sigmoid(grid[k] as number)) / cells) * fx;
        const cy = ((row + sigmoid(grid[k + 1] as number)) / cells) * fy;
        const w = ((Math.exp(grid[k + 2] as number) * aw) / cells) * fx;
        const h = ((Math.exp(grid[k + 3] as number) * ah) / cells) * fy;
        const left = cx - w / 2;
        const top = cy - h / 2;
        found.push({ score, left, top, right: left + w, bottom: top + h });
      }
    }
  }
  // highest score first; each kept box drops the rest that overlap it by more than the threshold
  let rest = found.map((_, i) => i).sort((i, j) => (found[i] as Candidate).score - (found[j] as Candidate).score);
  const kept: Candidate[] = [];
  while (rest.length > 0) {
    const best = found[rest.pop() as number] as Candidate;
    kept.push(best);
    rest = rest.filter((i) => iou(best, found[i] as Candidate) <= IOU_THRESHOLD);
  }
  return kept.map((c) => ({ score: c.score, left: c.left, top: c.top, width: c.right - c.left, height: c.bottom - c.top }));
}
