/**
 * Human's antispoof (128×128) and liveness (32×32) scores, 0..1, on the face box enlarged by
 * half: the crop both engines share, and the tfjs way of running the two graphs (the onnx way
 * is in onnx/nets.ts).
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { GraphModel } from './runtime.ts';
import type { Box } from './quality.ts';

/** The liveness models' crop: the face box enlarged by half, as [y1, x1, y2, x2] relative to the frame. */
export function livenessBox(box: Box, width: number, height: number): [number, number, number, number] {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const side = Math.max(box.width, box.height) * 1.5;
  return [(cy - side / 2) / height, (cx - side / 2) / width, (cy + side / 2) / height, (cx + side / 2) / width];
}

/** Both scores on tfjs, from the frame's tensor. */
export function tfjsLiveness(
  tf: typeof TfModule, antispoof: GraphModel, liveness: GraphModel, input: TfModule.Tensor3D, box: Box, width: number, height: number,
): { real: number; live: number } {
  const [y1, x1, y2, x2] = livenessBox(box, width, height);
  return tf.tidy(() => {
    const batch = tf.expandDims(input, 0) as TfModule.Tensor4D;
    const a = tf.div(tf.image.cropAndResize(batch, [[y1, x1, y2, x2]], [0], [128, 128]), 255);
    const l = tf.div(tf.image.cropAndResize(batch, [[y1, x1, y2, x2]], [0], [32, 32]), 255);
    const real = (antispoof.execute(a) as TfModule.Tensor).dataSync()[0] ?? 0;
    const live = (liveness.execute(l) as TfModule.Tensor).dataSync()[0] ?? 0;
    return { real, live };
  });
}
