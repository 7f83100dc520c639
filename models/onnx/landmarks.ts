/**
 * face-api's 68-point landmark net (112×112 input) as an ONNX graph, as
 * `faceFeatureExtractor/FaceFeatureExtractor.ts` and `faceProcessor/FaceProcessor.ts` run it:
 * four dense blocks (a stride-2 conv, plain for the first block and depthwise-separable after,
 * then three separable convs whose inputs are the running sums of the earlier outputs), a 7×7/2
 * average pool and a 256×136 fully connected layer. The output is face-api's raw one: x, y
 * pairs relative to the padded square input; the un-padding is done by the caller.
 */
import { GraphBuilder, type Feature } from './graph.ts';
import { add, conv, depthwiseOihw, normalisedInput, oihw, pool, relu } from './layers.ts';
import { FACEAPI_MEAN_RGB } from './recognition.ts';
import { tensorOf, type WeightTensor } from './weights.ts';

export const LANDMARK_INPUT = 112;

type Weights = ReadonlyMap<string, WeightTensor>;

/** tfjs separableConv2d + bias: a depthwise conv (group = channels) then a 1×1 conv. */
export function separable(g: GraphBuilder, w: Weights, x: Feature, prefix: string, stride: number): Feature {
  const dw = depthwiseOihw(tensorOf(w, `${prefix}/depthwise_filter`, 4));
  const d = conv(g, x, { weight: dw, stride, padding: 'same', group: x.c }, `${prefix}/depthwise`);
  return conv(g, d, { weight: oihw(tensorOf(w, `${prefix}/pointwise_filter`, 4)), bias: tensorOf(w, `${prefix}/bias`, 1).data, stride: 1, padding: 'same' }, `${prefix}/pointwise`);
}

function denseBlock4(g: GraphBuilder, w: Weights, x: Feature, prefix: string, first: boolean): Feature {
  const c0 = first
    ? conv(g, x, { weight: oihw(tensorOf(w, `${prefix}/conv0/filters`, 4)), bias: tensorOf(w, `${prefix}/conv0/bias`, 1).data, stride: 2, padding: 'same' }, `${prefix}/conv0`)
    : separable(g, w, x, `${prefix}/conv0`, 2);
  const out1 = relu(g, c0);
  const out2 = separable(g, w, out1, `${prefix}/conv1`, 1);
  const out3 = separable(g, w, relu(g, add(g, out1, out2)), `${prefix}/conv2`, 1);
  // tfjs adds out1 + (out2 + out3) and out1 + (out2 + (out3 + out4)); the same order here
  const out4 = separable(g, w, relu(g, add(g, out1, add(g, out2, out3))), `${prefix}/conv3`, 1);
  return relu(g, add(g, out1, add(g, out2, add(g, out3, out4))));
}

/** Builds the graph: input `input` [1,112,112,3] RGB 0..255 (NHWC), output `landmarks` [1,136]. */
export function landmarkGraph(w: Weights): Uint8Array {
  const g = new GraphBuilder('face_landmark_68');
  let x = normalisedInput(g, 'input', LANDMARK_INPUT, FACEAPI_MEAN_RGB, 255);
  x = denseBlock4(g, w, x, 'dense0', true);
  x = denseBlock4(g, w, x, 'dense1', false);
  x = denseBlock4(g, w, x, 'dense2', false);
  x = denseBlock4(g, w, x, 'dense3', false);
  x = pool(g, 'AveragePool', x, 7, 2);
  if (x.h !== 1 || x.w !== 1) throw new Error(`onnx: the landmark net's features are ${x.h}×${x.w}, expected 1×1`);
  const flat = g.node('Flatten', [x.name], { axis: 1 });
  const fcW = tensorOf(w, 'fc/weights', 2);
  const fcB = tensorOf(w, 'fc/bias', 1);
  const mm = g.node('MatMul', [flat, g.float('fc/weights', fcW.shape, fcW.data)]);
  g.node('Add', [mm, g.float('fc/bias', fcB.shape, fcB.data)], {}, 'landmarks');
  return g.encode({ name: 'input', dims: [1, LANDMARK_INPUT, LANDMARK_INPUT, 3] }, [{ name: 'landmarks', dims: [1, fcB.shape[0] as number] }], "face-api's face_landmark_68_model");
}
