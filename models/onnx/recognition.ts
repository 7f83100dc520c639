/**
 * face-api's 128-d face recognition net (a ResNet-34-like net, 150×150 input) as an ONNX
 * graph, layer by layer as `faceRecognitionNet/FaceRecognitionNet.ts` runs it: a 7×7/2 conv
 * and a 3×3/2 max pool, residual blocks of 32, 64, 128 and 256 channels (a `down` block
 * halves the size with a 3×3/2 valid conv and adds the 2×2 average pool of its input,
 * zero-padded in channels and, when sizes differ, the conv's output zero-padded by one row and
 * column after), a global mean and a 256×128 matrix. Each conv's scale layer (`× weights +
 * biases`) is folded into the conv's weights and bias.
 */
import { GraphBuilder, type Feature } from './graph.ts';
import { add, conv, normalisedInput, oihw, pool, relu } from './layers.ts';
import { tensorOf, type WeightTensor } from './weights.ts';

export const RECOGNITION_INPUT = 150;
export const FACEAPI_MEAN_RGB: [number, number, number] = [122.782, 117.001, 104.298];

type Weights = ReadonlyMap<string, WeightTensor>;

function convScaled(g: GraphBuilder, w: Weights, x: Feature, prefix: string, stride: number, padding: 'same' | 'valid', withRelu: boolean): Feature {
  const filters = oihw(tensorOf(w, `${prefix}/conv/filters`, 4));
  const bias = tensorOf(w, `${prefix}/conv/bias`, 1).data;
  const sw = tensorOf(w, `${prefix}/scale/weights`, 1).data;
  const sb = tensorOf(w, `${prefix}/scale/biases`, 1).data;
  const [co] = filters.dims as [number];
  const per = filters.data.length / co;
  const weight = new Float32Array(filters.data.length);
  const folded = new Float32Array(co);
  for (let o = 0; o < co; o++) {
    const s = sw[o] as number;
    for (let i = 0; i < per; i++) weight[o * per + i] = (filters.data[o * per + i] as number) * s;
    folded[o] = (bias[o] as number) * s + (sb[o] as number);
  }
  const out = conv(g, x, { weight: { dims: filters.dims, data: weight }, bias: folded, stride, padding }, prefix);
  return withRelu ? relu(g, out) : out;
}

function residual(g: GraphBuilder, w: Weights, x: Feature, prefix: string): Feature {
  const a = convScaled(g, w, x, `${prefix}/conv1`, 1, 'same', true);
  const b = convScaled(g, w, a, `${prefix}/conv2`, 1, 'same', false);
  return relu(g, add(g, b, x));
}

function residualDown(g: GraphBuilder, w: Weights, x: Feature, prefix: string): Feature {
  const a = convScaled(g, w, x, `${prefix}/conv1`, 2, 'valid', true);
  let b = convScaled(g, w, a, `${prefix}/conv2`, 1, 'same', false);
  let pooled = pool(g, 'AveragePool', x, 2, 2);
  if (pooled.h !== b.h || pooled.w !== b.w) {
    if (pooled.h - b.h !== 1 || pooled.w - b.w !== 1) throw new Error(`onnx: ${prefix} cannot line up ${b.h}×${b.w} with ${pooled.h}×${pooled.w}`);
    const pads = g.int64(`${prefix}/pad_hw`, [0, 0, 0, 0, 0, 0, 1, 1]);
    b = { ...b, name: g.node('Pad', [b.name, pads], { mode: 'constant' }), h: b.h + 1, w: b.w + 1 };
  }
  if (pooled.c !== b.c) {
    const pads = g.int64(`${prefix}/pad_c`, [0, 0, 0, 0, 0, b.c - pooled.c, 0, 0]);
    pooled = { ...pooled, name: g.node('Pad', [pooled.name, pads], { mode: 'constant' }), c: b.c };
  }
  return relu(g, add(g, pooled, b));
}

/** Builds the graph: input `input` [1,150,150,3] RGB 0..255 (NHWC), output `descriptor` [1,128] (not normalised). */
export function recognitionGraph(w: Weights): Uint8Array {
  const g = new GraphBuilder('face_recognition');
  let x = normalisedInput(g, 'input', RECOGNITION_INPUT, FACEAPI_MEAN_RGB, 255);
  x = convScaled(g, w, x, 'conv32_down', 2, 'valid', true);
  x = pool(g, 'MaxPool', x, 3, 2);
  for (const p of ['conv32_1', 'conv32_2', 'conv32_3']) x = residual(g, w, x, p);
  x = residualDown(g, w, x, 'conv64_down');
  for (const p of ['conv64_1', 'conv64_2', 'conv64_3']) x = residual(g, w, x, p);
  x = residualDown(g, w, x, 'conv128_down');
  for (const p of ['conv128_1', 'conv128_2']) x = residual(g, w, x, p);
  x = residualDown(g, w, x, 'conv256_down');
  for (const p of ['conv256_1', 'conv256_2']) x = residual(g, w, x, p);
  x = residualDown(g, w, x, 'conv256_down_out');
  const mean = g.node('ReduceMean', [x.name], { axes: [2, 3], keepdims: 0 });
  const fc = tensorOf(w, 'fc', 2);
  if (fc.shape[0] !== x.c) throw new Error(`onnx: fc has ${fc.shape[0]} rows, the net ends with ${x.c} channels`);
  g.node('MatMul', [mean, g.float('fc', fc.shape, fc.data)], {}, 'descriptor');
  return g.encode({ name: 'input', dims: [1, RECOGNITION_INPUT, RECOGNITION_INPUT, 3] }, [{ name: 'descriptor', dims: [1, fc.shape[1] as number] }], "face-api's face_recognition_model");
}
