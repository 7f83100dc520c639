/**
 * A tfjs graph model (Human's antispoof and liveness) as an ONNX graph, node by node. The
 * graph keeps tfjs's NHWC layout: convolutions and pooling are wrapped in transposes to and from
 * NCHW (onnxruntime's optimiser removes the pairs that cancel), so Reshape flattens in tfjs's
 * order. Mapped ops: Placeholder, Const, Identity, Conv2D / _FusedConv2D / DepthwiseConv2dNative
 * (with BiasAdd, Relu, Relu6, Prelu fused), MaxPool, AvgPool, MatMul / _FusedMatMul, Add,
 * AddV2, Sub, Mul, Minimum, Maximum, Abs, Square, Rsqrt, Mean, Sum, Squeeze, Pad, Relu, Relu6,
 * Sigmoid, Softmax, Reshape. Any other op throws
 * `UnmappedOpError`: that model stays on tfjs. The input is taken as 0..255 and divided by 255
 * in the graph, as the face engine fed tfjs.
 */
import { GraphBuilder } from './graph.ts';
import { decodeWeightGroups, type ManifestGroup, type WeightTensor } from './weights.ts';

interface TfAttr { s?: string; i?: string; f?: number; b?: boolean; list?: { i?: string[]; s?: string[] }; shape?: { dim?: { size: string }[] } }
interface TfNode { name: string; op: string; input?: string[]; attr?: Record<string, TfAttr> }
export interface TfjsGraphJson { modelTopology: { node: TfNode[] }; weightsManifest: ManifestGroup[] }

export class UnmappedOpError extends Error {
  constructor(readonly op: string, node: string) {
    super(`onnx: tfjs op ${op} (node ${node}) has no ONNX mapping`);
  }
}

const text = (a: TfAttr | undefined): string => (a?.s ? Buffer.from(a.s, 'base64').toString('utf8') : '');
const ints = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);

/** Converts the model for a fixed input of [1, size, size, channels]; returns the encoded ONNX model and its output's name. */
export interface TfjsGraphOptions {
  /** The input (0..255) is divided by this in the graph: 255 for models fed 0..1 (default), 1 for models fed 0..255. */
  inputDivisor?: number;
  /** The node whose value is the output (default: the last node). */
  output?: string;
}

export function tfjsGraphToOnnx(json: TfjsGraphJson, shard: Buffer, size: number, name: string, opts: TfjsGraphOptions = {}): Uint8Array {
  const weights = decodeWeightGroups(json.weightsManifest, shard);
  const g = new GraphBuilder(name);
  const values = new Map<string, string>(); // tfjs node name → ONNX value name
  const consts = new Map<string, WeightTensor>();
  let output = '';
  let channels = 3;
  const inputOf = (ref: string): string => {
    const key = ref.replace(/^\^/, '').replace(/:0$/, '');
    const v = values.get(key);
    if (v) return v;
    // constants become initialisers when a node uses them as they are (filters are re-laid out)
    const t = consts.get(key);
    if (!t) throw new Error(`onnx: ${name}: input ${ref} is not defined before use`);
    const init = t.data instanceof Int32Array ? g.int64(key, Array.from(t.data)) : g.float(key, t.shape, t.data);
    values.set(key, init);
    return init;
  };
  const nchw = (x: string) => g.node('Transpose', [x], { perm: [0, 3, 1, 2] });
  const nhwc = (x: string) => g.node('Transpose', [x], { perm: [0, 2, 3, 1] });
  const activation = (x: string, op: string, node: TfNode, extra: string[]): string => {
    switch (op) {
      case 'Relu': return g.node('Relu', [x]);
      case 'Relu6': return g.node('Clip', [x, g.float(g.fresh('zero'), [], [0]), g.float(g.fresh('six'), [], [6])]);
      case 'Prelu': return g.node('PRelu', [x, extra[0] ?? '']);
      default: throw new UnmappedOpError(`fused ${op}`, node.name);
    }
  };
  const fused = (x: string, node: TfNode, args: string[]): string => {
    const ops = (node.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
    let out = x;
    let arg = 0;
    for (const op of ops) {
      if (op === 'BiasAdd') out = g.node('Add', [out, args[arg++] ?? '']);
      else out = activation(out, op, node, args.slice(arg));
    }
    return out;
  };
  const constInts = (ref: string | undefined, node: TfNode): number[] => {
    const t = consts.get((ref ?? '').replace(/:0$/, ''));
    if (!t) throw new UnmappedOpError(`${node.op} with computed parameters`, node.name);
    return Array.from(t.data, Number);
  };
  for (const node of json.modelTopology.node) {
    const inputs = node.input ?? [];
    let v: string;
    switch (node.op) {
      case 'Placeholder': {
        const dims = node.attr?.shape?.shape?.dim?.map((d) => Number(d.size)) ?? [];
        channels = dims[3] ?? 3;
        v = g.node('Div', ['input', g.float('input/divisor', [1], [opts.inputDivisor ?? 255])]);
        break;
      }
      case 'Const': {
        const t = weights.get(node.name);
        if (!t) throw new Error(`onnx: ${name}: constant ${node.name} is not in the weights manifest`);
        consts.set(node.name, t);
        continue;
      }
      case 'Identity': v = inputOf(inputs[0] ?? ''); break;
      case 'Conv2D': case '_FusedConv2D': case 'DepthwiseConv2dNative': case 'FusedDepthwiseConv2dNative': {
        const filter = consts.get((inputs[1] ?? '').replace(/:0$/, ''));
        if (!filter || !(filter.data instanceof Float32Array)) throw new UnmappedOpError(`${node.op} with a computed filter`, node.name);
        if (ints(node.attr?.dilations).some((d) => d !== 1)) throw new UnmappedOpError(`${node.op} with dilation`, node.name);
        const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
        const depthwise = node.op.includes('Depthwise');
        const w = new Float32Array(filter.data.length);
        // HWIO → OIHW; depthwise [kh, kw, c, m] → [c·m, 1, kh, kw]
        for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) {
          const src = filter.data[((y * kw + x) * ci + i) * co + o] as number;
          if (depthwise) w[((i * co + o) * kh + y) * kw + x] = src;
          else w[((o * ci + i) * kh + y) * kw + x] = src;
        }
        const dims = depthwise ? [ci * co, 1, kh, kw] : [co, ci, kh, kw];
        const strides = ints(node.attr?.strides);
        const conv = g.node('Conv', [nchw(inputOf(inputs[0] ?? '')), g.float(`${node.name}/oihw`, dims, w)], {
          kernel_shape: [kh, kw], strides: [strides[1] ?? 1, strides[2] ?? 1], auto_pad: text(node.attr?.padding) === 'SAME' ? 'SAME_UPPER' : 'VALID', group: depthwise ? ci : 1,
        });
        v = fused(nhwc(conv), node, inputs.slice(2).map(inputOf));
        break;
      }
      case 'MaxPool': case 'AvgPool': {
        const k = ints(node.attr?.ksize);
        const s = ints(node.attr?.strides);
        const pool = g.node(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [nchw(inputOf(inputs[0] ?? ''))], {
          kernel_shape: [k[1] ?? 1, k[2] ?? 1], strides: [s[1] ?? 1, s[2] ?? 1], auto_pad: text(node.attr?.padding) === 'SAME' ? 'SAME_UPPER' : 'VALID',
        });
        v = nhwc(pool);
        break;
      }
      case 'MatMul': case '_FusedMatMul': {
        if (node.attr?.transpose_a?.b || node.attr?.transpose_b?.b) throw new UnmappedOpError(`${node.op} with a transpose`, node.name);
        v = fused(g.node('MatMul', [inputOf(inputs[0] ?? ''), inputOf(inputs[1] ?? '')]), node, inputs.slice(2).map(inputOf));
        break;
      }
      case 'Add': case 'AddV2': v = g.node('Add', inputs.map(inputOf)); break;
      case 'Sub': v = g.node('Sub', inputs.map(inputOf)); break;
      case 'Mul': v = g.node('Mul', inputs.map(inputOf)); break;
      case 'Relu': case 'Relu6': v = activation(inputOf(inputs[0] ?? ''), node.op, node, []); break;
      case 'Minimum': v = g.node('Min', inputs.map(inputOf)); break;
      case 'Maximum': v = g.node('Max', inputs.map(inputOf)); break;
      case 'Abs': v = g.node('Abs', [inputOf(inputs[0] ?? '')]); break;
      case 'Square': { const x = inputOf(inputs[0] ?? ''); v = g.node('Mul', [x, x]); break; }
      case 'Rsqrt': v = g.node('Reciprocal', [g.node('Sqrt', [inputOf(inputs[0] ?? '')])]); break;
      case 'Mean': case 'Sum': {
        // the layout stays NHWC, so tfjs's axes apply as they are
        const axes = constInts(inputs[1], node);
        const keepdims = node.attr?.keep_dims?.b ? 1 : 0;
        v = node.op === 'Mean'
          ? g.node('ReduceMean', [inputOf(inputs[0] ?? '')], { axes, keepdims })
          : g.node('ReduceSum', [inputOf(inputs[0] ?? ''), g.int64(g.fresh('axes'), axes)], { keepdims });
        break;
      }
      case 'Squeeze': {
        const axes = ints(node.attr?.squeeze_dims);
        v = g.node('Squeeze', axes.length ? [inputOf(inputs[0] ?? ''), g.int64(g.fresh('axes'), axes)] : [inputOf(inputs[0] ?? '')]);
        break;
      }
      case 'Pad': {
        // tfjs [[before, after] per axis] → ONNX [before…, after…]
        const p = constInts(inputs[1], node);
        const n = p.length / 2;
        const pads = [...Array.from({ length: n }, (_, i) => p[2 * i] as number), ...Array.from({ length: n }, (_, i) => p[2 * i + 1] as number)];
        v = g.node('Pad', [inputOf(inputs[0] ?? ''), g.int64(g.fresh('pads'), pads)], { mode: 'constant' });
        break;
      }
      case 'Sigmoid': v = g.node('Sigmoid', [inputOf(inputs[0] ?? '')]); break;
      case 'Softmax': v = g.node('Softmax', [inputOf(inputs[0] ?? '')], { axis: -1 }); break;
      case 'Reshape': v = g.node('Reshape', [inputOf(inputs[0] ?? ''), inputOf(inputs[1] ?? '')]); break;
      default: throw new UnmappedOpError(node.op, node.name);
    }
    values.set(node.name, v);
    output = v;
    if (node.name === opts.output) break;
  }
  if (opts.output && !values.has(opts.output)) throw new Error(`onnx: ${name}: no node ${opts.output}`);
  g.node('Identity', [output], {}, 'output');
  return g.encode({ name: 'input', dims: [1, size, size, channels] }, [{ name: 'output' }], `${name}, converted from its tfjs graph model`);
}
