/**
 * tfjs layers as ONNX nodes: the weights are moved from tfjs's layouts (HWIO filters,
 * [kh, kw, c, 1] depthwise filters, NHWC maps) to ONNX's (OIHW, NCHW), and tfjs's `same`
 * padding (the extra row and column, if any, go after) becomes explicit pads.
 */
import type { Feature, GraphBuilder } from './graph.ts';
import type { WeightTensor } from './weights.ts';

/** tfjs `same` padding for one axis: [before, after]. */
export function samePads(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

const outSize = (size: number, kernel: number, stride: number, pads: [number, number]): number =>
  Math.floor((size + pads[0] + pads[1] - kernel) / stride) + 1;

/** HWIO filters → OIHW. */
export function oihw(t: WeightTensor): { dims: number[]; data: Float32Array } {
  const [kh, kw, ci, co] = t.shape as [number, number, number, number];
  const src = t.data;
  const out = new Float32Array(src.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) {
    out[((o * ci + i) * kh + y) * kw + x] = src[((y * kw + x) * ci + i) * co + o] as number;
  }
  return { dims: [co, ci, kh, kw], data: out };
}

/** Depthwise [kh, kw, c, 1] filters → [c, 1, kh, kw] for a grouped convolution. */
export function depthwiseOihw(t: WeightTensor): { dims: number[]; data: Float32Array } {
  const [kh, kw, c, m] = t.shape as [number, number, number, number];
  if (m !== 1) throw new Error(`onnx: depthwise multiplier ${m} is not supported`);
  const src = t.data;
  const out = new Float32Array(src.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < c; i++) out[(i * kh + y) * kw + x] = src[(y * kw + x) * c + i] as number;
  return { dims: [c, 1, kh, kw], data: out };
}

export interface ConvSpec {
  /** OIHW (or [c,1,kh,kw] with group = c). */
  weight: { dims: number[]; data: Float32Array };
  bias?: Float32Array;
  stride: number;
  padding: 'same' | 'valid';
  group?: number;
}

export function conv(g: GraphBuilder, x: Feature, spec: ConvSpec, label: string): Feature {
  const [co, , kh, kw] = spec.weight.dims as [number, number, number, number];
  const ph: [number, number] = spec.padding === 'same' ? samePads(x.h, kh, spec.stride) : [0, 0];
  const pw: [number, number] = spec.padding === 'same' ? samePads(x.w, kw, spec.stride) : [0, 0];
  const inputs = [x.name, g.float(`${label}/W`, spec.weight.dims, spec.weight.data)];
  if (spec.bias) inputs.push(g.float(`${label}/B`, [co], spec.bias));
  const name = g.node('Conv', inputs, {
    kernel_shape: [kh, kw], strides: [spec.stride, spec.stride], pads: [ph[0], pw[0], ph[1], pw[1]], group: spec.group ?? 1,
  }, label);
  return { name, c: co, h: outSize(x.h, kh, spec.stride, ph), w: outSize(x.w, kw, spec.stride, pw) };
}

export function relu(g: GraphBuilder, x: Feature): Feature {
  return { ...x, name: g.node('Relu', [x.name]) };
}

export function add(g: GraphBuilder, a: Feature, b: Feature): Feature {
  if (a.c !== b.c || a.h !== b.h || a.w !== b.w) throw new Error(`onnx: adding ${a.name} [${a.c},${a.h},${a.w}] and ${b.name} [${b.c},${b.h},${b.w}]`);
  return { ...a, name: g.node('Add', [a.name, b.name]) };
}

/** Pooling; `same` max pooling ignores the padded cells, as tfjs's does. */
export function pool(g: GraphBuilder, op: 'MaxPool' | 'AveragePool', x: Feature, kernel: number, stride: number, padding: 'same' | 'valid' = 'valid'): Feature {
  if (padding === 'same' && op !== 'MaxPool') throw new Error('onnx: only max pooling takes same padding here');
  const ph: [number, number] = padding === 'same' ? samePads(x.h, kernel, stride) : [0, 0];
  const pw: [number, number] = padding === 'same' ? samePads(x.w, kernel, stride) : [0, 0];
  const name = g.node(op, [x.name], { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [ph[0], pw[0], ph[1], pw[1]] });
  return { name, c: x.c, h: outSize(x.h, kernel, stride, ph), w: outSize(x.w, kernel, stride, pw) };
}

/**
 * The input stage: a [1, S, S, 3] NHWC float input of 0..255 RGB values becomes NCHW
 * (x − mean) / divisor, as face-api's nets normalise (the division kept a division, as tfjs does).
 */
export function normalisedInput(g: GraphBuilder, inputName: string, size: number, mean: [number, number, number], divisor: number): Feature {
  const centred = g.node('Sub', [inputName, g.float('input/mean', [3], mean)]);
  const scaled = g.node('Div', [centred, g.float('input/divisor', [1], [divisor])]);
  const nchw = g.node('Transpose', [scaled], { perm: [0, 3, 1, 2] });
  return { name: nchw, c: 3, h: size, w: size };
}
