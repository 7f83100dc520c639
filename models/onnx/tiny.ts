/**
 * face-api's tiny face detector (a Tiny YOLO v2 with depthwise-separable convs) as an ONNX
 * graph, as `tinyYolov2/TinyYolov2Base.ts` runs it with the tiny detector's configuration: a
 * 3×3 valid conv, then five separable convs (padded by one) each after a 2×2/2 max pool, a
 * 2×2/1 max pool, and a 1×1 conv to 5 anchors × (x, y, w, h, score); every conv but the last
 * is followed by a leaky ReLU of slope 0.1. The input size (a multiple of 32) is fixed per
 * graph. The output `grid` is NHWC [1, cells, cells, 25], as tfjs gives it; decoding against
 * the anchors and non-maximum suppression are in tiny-decode.ts.
 */
import { GraphBuilder, type Feature } from './graph.ts';
import { conv, normalisedInput, oihw, pool } from './layers.ts';
import { separable } from './landmarks.ts';
import { tensorOf, type WeightTensor } from './weights.ts';

export const TINY_MEAN_RGB: [number, number, number] = [117.001, 114.697, 97.404];

type Weights = ReadonlyMap<string, WeightTensor>;

const leaky = (g: GraphBuilder, x: Feature): Feature => ({ ...x, name: g.node('LeakyRelu', [x.name], { alpha: 0.1 }) });

/** Builds the graph for one input size: input `input` [1,S,S,3] RGB 0..255 (NHWC), output `grid`. */
export function tinyGraph(w: Weights, size: number): Uint8Array {
  if (!Number.isInteger(size) || size % 32 !== 0 || size < 64) throw new Error(`onnx: tiny detector input ${size} is not a multiple of 32`);
  const g = new GraphBuilder(`tiny_face_detector_${size}`);
  let x = normalisedInput(g, 'input', size, TINY_MEAN_RGB, 255);
  x = leaky(g, conv(g, x, { weight: oihw(tensorOf(w, 'conv0/filters', 4)), bias: tensorOf(w, 'conv0/bias', 1).data, stride: 1, padding: 'valid' }, 'conv0'));
  for (let i = 1; i <= 5; i++) {
    x = pool(g, 'MaxPool', x, 2, 2, 'same');
    x = leaky(g, separable(g, w, x, `conv${i}`, 1));
  }
  x = pool(g, 'MaxPool', x, 2, 1, 'same');
  const out = conv(g, x, { weight: oihw(tensorOf(w, 'conv8/filters', 4)), bias: tensorOf(w, 'conv8/bias', 1).data, stride: 1, padding: 'valid' }, 'conv8');
  g.node('Transpose', [out.name], { perm: [0, 2, 3, 1] }, 'grid');
  return g.encode({ name: 'input', dims: [1, size, size, 3] }, [{ name: 'grid', dims: [1, out.h, out.w, out.c] }], `face-api's tiny_face_detector_model at ${size} px`);
}
