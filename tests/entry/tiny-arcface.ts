/**
 * A tiny ArcFace-shaped ONNX graph written in the test (Conv 4×4/4 → Flatten → MatMul,
 * [1,3,112,112] → [1,N]) with the same network in plain arithmetic as the reference, and a
 * synthetic face: the template moved by a known similarity, drawn as white dots.
 */
import { onnx } from 'onnx-proto';
import { applySimilarity, ARCFACE_TEMPLATE, type Similarity } from '../../models/align.ts';
import type { RgbFrame } from '../../models/frame.ts';
import type { Point } from '../../models/quality.ts';


/** A face seen by the camera: the template moved by a known similarity (scale 2.5, 15°, shifted). */
export const camera: Similarity = (() => {
  const s = 2.5, r = (15 * Math.PI) / 180;
  return { a: s * Math.cos(r), b: s * Math.sin(r), tx: 180, ty: 60 };
})();
export const seen = ARCFACE_TEMPLATE.map((p) => applySimilarity(camera, p));

/** 68 landmarks whose five derived points are `five` (each eye's six points spread around its centre). */
export function landmarksWith(five: readonly Point[]): Point[] {
  const l: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0 }));
  const ring = [[-3, 0], [-1, -2], [1, -2], [3, 0], [1, 2], [-1, 2]] as const;
  for (let i = 0; i < 6; i++) {
    l[36 + i] = { x: (five[0] as Point).x + ring[i]![0], y: (five[0] as Point).y + ring[i]![1] };
    l[42 + i] = { x: (five[1] as Point).x + ring[i]![0], y: (five[1] as Point).y + ring[i]![1] };
  }
  l[30] = five[2] as Point;
  l[48] = five[3] as Point;
  l[54] = five[4] as Point;
  return l;
}

export function frameWithDots(width: number, height: number, dots: readonly Point[]): RgbFrame {
  const data = new Uint8Array(width * height * 3);
  for (const d of dots) {
    for (let y = Math.round(d.y) - 3; y <= Math.round(d.y) + 3; y++) {
      for (let x = Math.round(d.x) - 3; x <= Math.round(d.x) + 3; x++) data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return { width, height, data };
}

/** Deterministic weights in [−0.5, 0.5). */
function weights(n: number, seed: number): Float32Array {
  const w = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1664525 + 1013904223) % 2 ** 32; w[i] = x / 2 ** 32 - 0.5; }
  return w;
}

/** The tiny graph as ONNX protobuf: Conv(W [1,3,4,4], stride 4) → Flatten → MatMul(M [784, outLen]). */
export function tinyArcFace(outLen: number): { bytes: Uint8Array; conv: Float32Array; mat: Float32Array } {
  const conv = weights(3 * 16, 7);
  const mat = weights(784 * outLen, 11);
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const valueInfo = (name: string, dims: number[]): onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'store-edge tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny-arcface',
      node: [
        { opType: 'Conv', input: ['input', 'W'], output: ['c'], attribute: [ints('kernel_shape', [4, 4]), ints('strides', [4, 4])] },
        { opType: 'Flatten', input: ['c'], output: ['f'] },
        { opType: 'MatMul', input: ['f', 'M'], output: ['embedding'] },
      ],
      initializer: [
        { name: 'W', dims: [1, 3, 4, 4], dataType: FLOAT, floatData: Array.from(conv) },
        { name: 'M', dims: [784, outLen], dataType: FLOAT, floatData: Array.from(mat) },
      ],
      input: [valueInfo('input', [1, 3, 112, 112])],
      output: [valueInfo('embedding', [1, outLen])],
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), conv, mat };
}

/** The same network in plain arithmetic, as the reference. */
export function reference(input: Float32Array, conv: Float32Array, mat: Float32Array, outLen: number): Float32Array {
  const f = new Float32Array(784);
  for (let oy = 0; oy < 28; oy++) for (let ox = 0; ox < 28; ox++) {
    let s = 0;
    for (let c = 0; c < 3; c++) for (let ky = 0; ky < 4; ky++) for (let kx = 0; kx < 4; kx++) {
      s += (input[c * 112 * 112 + (oy * 4 + ky) * 112 + ox * 4 + kx] as number) * (conv[c * 16 + ky * 4 + kx] as number);
    }
    f[oy * 28 + ox] = s;
  }
  const out = new Float32Array(outLen);
  for (let j = 0; j < outLen; j++) { let s = 0; for (let i = 0; i < 784; i++) s += (f[i] as number) * (mat[i * outLen + j] as number); out[j] = s; }
  const n = Math.hypot(...out);
  return out.map((v) => v / n);
}

