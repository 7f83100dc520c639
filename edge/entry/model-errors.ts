/**
 * A face engine that fails to start, told apart by whose file failed. The shipped weights come
 * from npm: missing or altered, they are reinstalled (`npm ci`), `MODEL_INVALID`. A model the
 * operator named (`entry.recognizer.path`, `entry.liveness.passive.onnx_model.path`, a tool's
 * `--recognizer KIND=FILE`) is not in npm: its failure is bad input naming the key or flag and
 * the file (`CONFIG_INVALID` or `INVALID_ARGUMENT`, exit 2), in Chinese and English alike.
 */
import path from 'node:path';
import type { ModelError } from '../../models/errors.ts';
import type { RecognizerChoice } from '../../models/recognizer.ts';
import { EdgeError } from '../errors.ts';

/** A model file the operator named, the key or flag that named it, and the engine's name for it (the error's `details.model`). */
export interface OperatorModel { file: string; key: string; model: string; flag: boolean }

/**
 * The recognizer's operator-supplied files: from the config (`entry.recognizer.path`, a fusion's
 * `entry.recognizer.members[i].path`) or from a tool's flag (`flag`: e.g. `--recognizer onnx-arcface=FILE`).
 */
export function recognizerModels(r: RecognizerChoice, flag?: string): OperatorModel[] {
  if (r.kind === 'fusion') return r.members.flatMap((m, i) => recognizerModels(m, flag).map((o) => (flag ? o : { ...o, key: `entry.recognizer.members[${i}].path` })));
  if (!('path' in r) || !r.path) return [];
  return [{ file: r.path, key: flag ?? 'entry.recognizer.path', model: r.kind, flag: flag !== undefined }];
}

/** The passive check's liveness net, when the engine loads it (`engineChoice(…).livenessNet`). */
export function livenessNetModels(net: { path: string } | undefined): OperatorModel[] {
  return net ? [{ file: net.path, key: 'entry.liveness.passive.onnx_model.path', model: 'onnx-liveness', flag: false }] : [];
}

const kindOf = (model: string): { en: string; zh: string } =>
  model.startsWith('human-') ? { en: 'a loadable Human (tfjs graph) model', zh: '可加载的 Human（tfjs 图）模型' } : { en: 'a loadable ONNX model', zh: '可加载的 ONNX 模型' };

/** The EdgeError for a ModelError raised while an engine started, given the files the operator named. */
export function modelStartError(err: ModelError, operator: readonly OperatorModel[]): EdgeError {
  const model = typeof err.details?.model === 'string' ? err.details.model : '';
  const file = typeof err.details?.file === 'string' ? err.details.file : '';
  // a Human model's weights (.bin) lie beside the .json the operator named
  const own = operator.find((o) => o.model === model && (o.file === file || path.dirname(o.file) === path.dirname(file)));
  if (!own) {
    return new EdgeError('MODEL_INVALID', `${err.message}: the shipped model files are missing, altered or cannot be loaded; reinstall them (npm ci)`, {
      cause: err, zh: `随附的模型文件${file ? ` ${file} ` : ''}缺失、被改动或无法加载，请重新安装 (npm ci)`,
    });
  }
  const named = `${own.key}${own.flag ? '' : ` ${own.file}`}`;
  const what = err.code === 'MODEL_MISSING'
    ? { en: `cannot read the model file ${file || own.file}`, zh: `无法读取模型文件 ${file || own.file}` }
    : err.code === 'MODEL_ALTERED'
      ? { en: `the sha256 of the model file ${file} is not the configured one; set the file's sha256 or restore the file`, zh: `模型文件 ${file} 的 sha256 与配置不符，请在配置中写入该文件的 sha256 或换回原文件` }
      : { en: `the model file ${file || own.file} is not ${kindOf(own.model).en}`, zh: `模型文件 ${file || own.file} 不是${kindOf(own.model).zh}` };
  return new EdgeError(own.flag ? 'INVALID_ARGUMENT' : 'CONFIG_INVALID', `${named}: ${what.en} (${err.message})`, { cause: err, zh: `${named}：${what.zh}` });
}
