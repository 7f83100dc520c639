/**
 * face-api's SSD MobileNet v1 face detector (512×512 input) as an ONNX graph, the network only,
 * as `ssdMobilenetv1/mobileNetV1.ts` and `predictionLayer.ts` run it: MobileNet v1 (a 3×3/2
 * conv, then 13 depthwise + batch norm / pointwise pairs, each clipped to 0..6), eight more
 * pointwise convs, and six box predictors (on layer 11, the last layer and four smaller maps).
 * Outputs: `box_encodings` [1, 5118, 4] (raw, per anchor) and `scores` [1, 5118] (the face
 * class's sigmoid). Box decoding against the anchors and non-maximum suppression are done in
 * TypeScript (ssd-decode.ts), as face-api does them after its network.
 */
import { GraphBuilder, type Feature } from './graph.ts';
import { conv, depthwiseOihw, oihw } from './layers.ts';
import { tensorOf, type WeightTensor } from './weights.ts';

export const SSD_INPUT = 512;
export const SSD_ANCHORS = 5118;
/** tfjs's batch-norm epsilon in face-api's MobileNet, as a float32. */
const BN_EPSILON = 0.0010000000474974513;

type Weights = ReadonlyMap<string, WeightTensor>;

function clip6(g: GraphBuilder, x: Feature): Feature {
  return { ...x, name: g.node('Clip', [x.name, 'const/zero', 'const/six']) };
}

function pointwise(g: GraphBuilder, w: Weights, x: Feature, prefix: string, stride: number): Feature {
  const filters = oihw(tensorOf(w, `${prefix}/weights`, 4));
  return clip6(g, conv(g, x, { weight: filters, bias: tensorOf(w, `${prefix}/convolution_bn_offset`, 1).data, stride, padding: 'same' }, prefix));
}

function depthwise(g: GraphBuilder, w: Weights, x: Feature, idx: number, stride: number): Feature {
  const p = `MobilenetV1/Conv2d_${idx}_depthwise`;
  const d = conv(g, x, { weight: depthwiseOihw(tensorOf(w, `${p}/depthwise_weights`, 4)), stride, padding: 'same', group: x.c }, p);
  const bn = (n: string) => g.float(`${p}/BatchNorm/${n}`, [x.c], tensorOf(w, `${p}/BatchNorm/${n}`, 1).data);
  const name = g.node('BatchNormalization', [d.name, bn('gamma'), bn('beta'), bn('moving_mean'), bn('moving_variance')], { epsilon: BN_EPSILON });
  return clip6(g, { ...d, name });
}

/** One box predictor: NCHW conv outputs back to NHWC order, then per-anchor rows. */
function predictor(g: GraphBuilder, w: Weights, x: Feature, idx: number): { boxes: string; classes: string } {
  const head = (kind: 'BoxEncodingPredictor' | 'ClassPredictor', per: number) => {
    const p = `Prediction/BoxPredictor_${idx}/${kind}`;
    const out = conv(g, x, { weight: oihw(tensorOf(w, `${p}/weights`, 4)), bias: tensorOf(w, `${p}/biases`, 1).data, stride: 1, padding: 'same' }, p);
    const nhwc = g.node('Transpose', [out.name], { perm: [0, 2, 3, 1] });
    return g.node('Reshape', [nhwc, g.int64(`${p}/shape`, [1, -1, per])]);
  };
  return { boxes: head('BoxEncodingPredictor', 4), classes: head('ClassPredictor', 3) };
}

/** Builds the graph: input `input` [1,512,512,3] RGB 0..255 (NHWC), outputs `box_encodings` and `scores`. */
export function ssdGraph(w: Weights): Uint8Array {
  const g = new GraphBuilder('ssd_mobilenetv1');
  g.float('const/zero', [], [0]);
  g.float('const/six', [], [6]);
  const scaled = g.node('Div', ['input', g.float('input/divisor', [1], [127.5])]);
  const centred = g.node('Sub', [scaled, g.float('input/one', [1], [1])]);
  let x: Feature = { name: g.node('Transpose', [centred], { perm: [0, 3, 1, 2] }), c: 3, h: SSD_INPUT, w: SSD_INPUT };
  x = pointwise(g, w, x, 'MobilenetV1/Conv2d_0_pointwise', 2);
  let conv11: Feature | undefined;
  for (let i = 1; i <= 13; i++) {
    x = depthwise(g, w, x, i, [2, 4, 6, 12].includes(i) ? 2 : 1);
    x = pointwise(g, w, x, `MobilenetV1/Conv2d_${i}_pointwise`, 1);
    if (i === 11) conv11 = x;
  }
  if (!conv11) throw new Error('onnx: MobileNet has no layer 11');
  const c0 = pointwise(g, w, x, 'Prediction/Conv2d_0_pointwise', 1);
  const c1 = pointwise(g, w, c0, 'Prediction/Conv2d_1_pointwise', 2);
  const c2 = pointwise(g, w, c1, 'Prediction/Conv2d_2_pointwise', 1);
  const c3 = pointwise(g, w, c2, 'Prediction/Conv2d_3_pointwise', 2);
  const c4 = pointwise(g, w, c3, 'Prediction/Conv2d_4_pointwise', 1);
  const c5 = pointwise(g, w, c4, 'Prediction/Conv2d_5_pointwise', 2);
  const c6 = pointwise(g, w, c5, 'Prediction/Conv2d_6_pointwise', 1);
  const c7 = pointwise(g, w, c6, 'Prediction/Conv2d_7_pointwise', 2);
  const heads = [conv11, x, c1, c3, c5, c7].map((f, i) => predictor(g, w, f, i));
  const anchors = [conv11, x, c1, c3, c5, c7].reduce((s, f, i) => s + f.h * f.w * (i === 0 ? 3 : 6), 0);
  if (anchors !== SSD_ANCHORS) throw new Error(`onnx: the SSD predictors give ${anchors} anchors, expected ${SSD_ANCHORS}`);
  g.node('Concat', heads.map((h) => h.boxes), { axis: 1 }, 'box_encodings');
  const classes = g.node('Concat', heads.map((h) => h.classes), { axis: 1 });
  const face = g.node('Slice', [classes, g.int64('scores/start', [1]), g.int64('scores/end', [2]), g.int64('scores/axis', [2])]);
  const sig = g.node('Sigmoid', [face]);
  g.node('Reshape', [sig, g.int64('scores/shape', [1, SSD_ANCHORS])], {}, 'scores');
  return g.encode({ name: 'input', dims: [1, SSD_INPUT, SSD_INPUT, 3] }, [{ name: 'box_encodings', dims: [1, SSD_ANCHORS, 4] }, { name: 'scores', dims: [1, SSD_ANCHORS] }], "face-api's ssd_mobilenetv1_model");
}
