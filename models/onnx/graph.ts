/**
 * A small ONNX graph builder over `onnx-proto`'s protobuf types: initialisers, nodes with
 * attributes, and the encoded model. The converted nets use opset 13 (Pad takes its pads as
 * an input, ReduceMean its axes as an attribute), which every onnxruntime since 1.8 runs.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const OPSET = 13;
const IR_VERSION = 7;

export type AttrValue = number | number[] | string | { floats: number[] };

/** One feature map in NCHW, with its static size (every converted net has a fixed input). */
export interface Feature { name: string; c: number; h: number; w: number }

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private serial = 0;

  constructor(private readonly graphName: string) {}

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    this.serial += 1;
    return `${prefix}_${this.serial}`;
  }

  /** A float32 initialiser; returns its name. */
  float(name: string, dims: number[], data: Float32Array | number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    if (values.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`onnx: initialiser ${name} has ${values.length} values for dims [${dims.join(', ')}]`);
    this.initializers.push(onnx.TensorProto.create({
      name, dims, dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    }));
    return name;
  }

  /** An int64 initialiser (shapes, pads); returns its name. */
  int64(name: string, values: number[]): string {
    const raw = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push(onnx.TensorProto.create({
      name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(raw.buffer),
    }));
    return name;
  }

  /** Appends a node; returns its (first) output name. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output = this.fresh(op.toLowerCase())): string {
    const attribute = Object.entries(attrs).map(([name, v]) => {
      const { AttributeType } = onnx.AttributeProto;
      if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: new TextEncoder().encode(v) });
      if (typeof v === 'number') {
        return Number.isInteger(v) ? onnx.AttributeProto.create({ name, type: AttributeType.INT, i: v }) : onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: v });
      }
      if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: v });
      return onnx.AttributeProto.create({ name, type: AttributeType.FLOATS, floats: v.floats });
    });
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: inputs, output: [output], name: output, attribute }));
    return output;
  }

  /** The encoded model with one float32 input and float32 outputs of the given shapes (none: left to inference). */
  encode(input: { name: string; dims: number[] }, outputs: { name: string; dims?: number[] }[], doc: string): Uint8Array {
    const valueInfo = (name: string, dims?: number[]) => onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } },
    });
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'village-store-edge models/onnx',
      docString: doc,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: onnx.GraphProto.create({
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(input.name, input.dims)],
        output: outputs.map((o) => valueInfo(o.name, o.dims)),
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
