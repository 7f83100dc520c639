/**
 * A tiny WebAssembly SIMD kernel for the 1:N match: scores[i] = gallery[i] · query for 128-d
 * float32 rows. Plain JS does 100,000 rows in ~12 ms here; this does it in a fraction, which
 * keeps a village-sized gallery far below a frame's budget.
 *
 * The module is assembled below from its opcodes (no toolchain, nothing converted at run
 * time). Its text form:
 *
 *   (func (export "scores") (param $g i32) (param $q i32) (param $out i32) (param $n i32)
 *     (block (loop
 *       (br_if 1 (i32.eqz (local.get $n)))
 *       (f32.store (local.get $out) (hsum (tree-sum of f32x4.mul (v128.load $g+16k) (v128.load $q+16k)) k=0..31)))
 *       $g += 512; $out += 4; $n -= 1; (br 0))))
 *
 * The 32 products are summed as a balanced tree so the adds do not wait on one another.
 */

/** Row lengths the kernel is built for: 128 (face-api) and 512 (ArcFace); any multiple of 16 works. */
export const KERNEL_DIMENSIONS = [128, 512] as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22;
const I32_CONST = 0x41, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_EQZ = 0x45;
const F32_ADD = 0x92, F32_STORE = 0x38;
const SIMD = 0xfd, V128_LOAD = 0x00, F32X4_EXTRACT = 0x1f, F32X4_ADD = 0xe4, F32X4_MUL = 0xe6;
const BLOCK = 0x02, LOOP = 0x03, BR = 0x0c, BR_IF = 0x0d, END = 0x0b, VOID = 0x40;
const [G, Q, OUT, N, ACC] = [0, 1, 2, 3, 4];

function product(k: number): number[] {
  const memarg = [...uleb(2), ...uleb(16 * k)]; // align 2^2 (floats), offset
  return [LOCAL_GET, G, SIMD, ...uleb(V128_LOAD), ...memarg, LOCAL_GET, Q, SIMD, ...uleb(V128_LOAD), ...memarg, SIMD, ...uleb(F32X4_MUL)];
}

function treeSum(lo: number, hi: number): number[] {
  if (hi - lo === 1) return product(lo);
  const mid = (lo + hi) >> 1;
  return [...treeSum(lo, mid), ...treeSum(mid, hi), SIMD, ...uleb(F32X4_ADD)];
}

// int8 rows · int16 query, 16 bytes of the row at a time: widen to two i16x8 halves and
// i32x4.dot_i16x8_s each against the matching 8 query values
const I32X4_EXTRACT = 0x1b, I16X8_EXTEND_LOW_S = 0x87, I16X8_EXTEND_HIGH_S = 0x88, I32X4_DOT_I16X8_S = 0xba, I32X4_ADD = 0xae;
const I32_STORE = 0x36, TMP = 4;

function chunkDot(k: number): number[] {
  const load = (local: number, offset: number): number[] => [LOCAL_GET, local, SIMD, ...uleb(V128_LOAD), ...uleb(0), ...uleb(offset)];
  return [
    ...load(G, 16 * k), LOCAL_TEE, TMP, SIMD, ...uleb(I16X8_EXTEND_LOW_S), ...load(Q, 32 * k), SIMD, ...uleb(I32X4_DOT_I16X8_S),
    LOCAL_GET, TMP, SIMD, ...uleb(I16X8_EXTEND_HIGH_S), ...load(Q, 32 * k + 16), SIMD, ...uleb(I32X4_DOT_I16X8_S),
    SIMD, ...uleb(I32X4_ADD),
  ];
}

function chunkTree(lo: number, hi: number): number[] {
  if (hi - lo === 1) return chunkDot(lo);
  const mid = (lo + hi) >> 1;
  return [...chunkTree(lo, mid), ...chunkTree(mid, hi), SIMD, ...uleb(I32X4_ADD)];
}

function int8Body(d: number): number[] {
  const lane = (i: number): number[] => [LOCAL_GET, ACC, SIMD, ...uleb(I32X4_EXTRACT), i];
  return [
    ...uleb(1), ...uleb(2), 0x7b, // two v128 locals: ACC and TMP
    BLOCK, VOID, LOOP, VOID,
    LOCAL_GET, N, I32_EQZ, BR_IF, 1,
    LOCAL_GET, OUT,
    ...chunkTree(0, d / 16), LOCAL_TEE, ACC, SIMD, ...uleb(I32X4_EXTRACT), 0,
    ...lane(1), I32_ADD, ...lane(2), I32_ADD, ...lane(3), I32_ADD,
    I32_STORE, ...uleb(2), ...uleb(0),
    LOCAL_GET, G, I32_CONST, ...sleb(d), I32_ADD, LOCAL_SET, G,
    LOCAL_GET, OUT, I32_CONST, ...sleb(4), I32_ADD, LOCAL_SET, OUT,
    LOCAL_GET, N, I32_CONST, ...sleb(1), I32_SUB, LOCAL_SET, N,
    BR, 0, END, END, END,
  ];
}

function buildModule(d: number): Uint8Array {
  const lane = (i: number): number[] => [LOCAL_GET, ACC, SIMD, ...uleb(F32X4_EXTRACT), i];
  const body = [
    ...uleb(1), ...uleb(1), 0x7b, // one local: v128
    BLOCK, VOID, LOOP, VOID,
    LOCAL_GET, N, I32_EQZ, BR_IF, 1,
    LOCAL_GET, OUT,
    ...treeSum(0, d / 4), LOCAL_TEE, ACC, SIMD, ...uleb(F32X4_EXTRACT), 0,
    ...lane(1), F32_ADD, ...lane(2), F32_ADD, ...lane(3), F32_ADD,
    F32_STORE, ...uleb(2), ...uleb(0),
    LOCAL_GET, G, I32_CONST, ...sleb(4 * d), I32_ADD, LOCAL_SET, G,
    LOCAL_GET, OUT, I32_CONST, ...sleb(4), I32_ADD, LOCAL_SET, OUT,
    LOCAL_GET, N, I32_CONST, ...sleb(1), I32_SUB, LOCAL_SET, N,
    BR, 0, END, END, END,
  ];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[0x7f], [0x7f], [0x7f], [0x7f]]), 0x00]])), // type (i32×4) → ()
    ...section(3, vec([[0x00], [0x00]])), // two functions of type 0
    ...section(5, vec([[0x00, 0x01]])), // one memory, at least 1 page, grows on demand
    ...section(7, vec([[...str('scores'), 0x00, 0x00], [...str('scoresInt8'), 0x00, 0x01], [...str('memory'), 0x02, 0x00]])),
    ...section(10, vec([[...uleb(body.length), ...body], [...uleb(int8Body(d).length), ...int8Body(d)]])),
  ];
  return Uint8Array.from(bytes);
}

// lib ES2023 carries no WebAssembly types (they live in lib.dom); the little we use:
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface DotKernel {
  memory: WasmMemory;
  scores(galleryPtr: number, queryPtr: number, outPtr: number, rows: number): void;
  /** out[i] (int32) = int8 row i (d bytes) · int16 query (d values). */
  scoresInt8(galleryPtr: number, queryPtr: number, outPtr: number, rows: number): void;
}

const compiled = new Map<number, object>();

/** A fresh instance (own memory) of the kernel for rows of `d` values; synchronous, the module is a few hundred bytes. */
export function createDotKernel(d = 128): DotKernel {
  if (!Number.isInteger(d) || d <= 0 || d % 16 !== 0) throw new RangeError(`descriptor length ${d} is not a positive multiple of 16`);
  let mod = compiled.get(d);
  if (!mod) { mod = new Wasm.Module(buildModule(d)); compiled.set(d, mod); }
  const inst = new Wasm.Instance(mod, {});
  const ex = inst.exports as unknown as DotKernel;
  return { memory: ex.memory, scores: ex.scores, scoresInt8: ex.scoresInt8 };
}
