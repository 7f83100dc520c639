/**
 * A face engine that fails to start (edge/entry/model-errors.ts): a model file the operator named
 * is bad input naming the key or flag and the file (exit 2), the Chinese saying what the English
 * says; only the shipped weights send the maintainer to `npm ci`. No models are loaded.
 */
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../models/errors.ts';
import { livenessNetModels, modelStartError, recognizerModels } from '../../edge/entry/model-errors.ts';
import { engineChoice, recognizerChoice, resolveEntryConfig } from '../../edge/entry/config.ts';

const sha256 = 'ab'.repeat(32);

describe('a model that does not load, by whose file it is', () => {
  it('entry.recognizer.path with another sha256: CONFIG_INVALID naming the key and the file, not npm ci', () => {
    const r = recognizerChoice(resolveEntryConfig({ recognizer: { kind: 'onnx-arcface', path: 'models/fr.onnx', sha256 } }).recognizer, '/data');
    const err = modelStartError(new ModelError('MODEL_ALTERED', `recognizer: sha256 of /data/models/fr.onnx is ${'cd'.repeat(32)}, the configuration says ${sha256}`, { details: { model: 'onnx-arcface', file: '/data/models/fr.onnx' } }), recognizerModels(r));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('entry.recognizer.path /data/models/fr.onnx: the sha256 of the model file /data/models/fr.onnx is not the configured one');
    expect(err.zh).toContain('entry.recognizer.path /data/models/fr.onnx：模型文件 /data/models/fr.onnx 的 sha256 与配置不符');
    expect(`${err.zh} ${err.message}`).not.toContain('npm ci');
  });

  it('--recognizer onnx-arcface=FILE that is not an ONNX model: INVALID_ARGUMENT naming the flag and the file', () => {
    const r = { kind: 'onnx-arcface' as const, path: '/tmp/bogus.onnx', sha256 };
    const err = modelStartError(new ModelError('MODEL_UNLOADABLE', 'recognizer: onnxruntime cannot load /tmp/bogus.onnx: protobuf parsing failed', { details: { model: 'onnx-arcface', file: '/tmp/bogus.onnx' } }), recognizerModels(r, '--recognizer onnx-arcface=/tmp/bogus.onnx'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/^--recognizer onnx-arcface=\/tmp\/bogus\.onnx: the model file \/tmp\/bogus\.onnx is not a loadable ONNX model/);
    expect(err.zh).toBe('--recognizer onnx-arcface=/tmp/bogus.onnx：模型文件 /tmp/bogus.onnx 不是可加载的 ONNX 模型');
  });

  it("a Human model's weights beside its json, and the liveness net, are the operator's too", () => {
    const human = recognizerChoice(resolveEntryConfig({ recognizer: { kind: 'human-mobileface', path: 'm/mobileface.json', sha256 } }).recognizer, '/data');
    const h = modelStartError(new ModelError('MODEL_ALTERED', 'recognizer: sha256 of /data/m/mobileface.bin is …', { details: { model: 'human-mobileface', file: '/data/m/mobileface.bin' } }), recognizerModels(human));
    expect(h).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(h.zh).toContain('模型文件 /data/m/mobileface.bin 的 sha256 与配置不符');
    const entry = resolveEntryConfig({ liveness: { passive: { onnx_model: { path: 'net.onnx', sha256, min_live: 0.5 } } } });
    const net = livenessNetModels(engineChoice(entry, '/data', 'configured').livenessNet);
    const n = modelStartError(new ModelError('MODEL_MISSING', 'liveness net: cannot read /data/net.onnx', { details: { model: 'onnx-liveness', file: '/data/net.onnx' } }), net);
    expect(n).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(n.message).toContain('entry.liveness.passive.onnx_model.path /data/net.onnx: cannot read the model file /data/net.onnx');
    expect(n.zh).toContain('无法读取模型文件 /data/net.onnx');
  });

  it('the shipped weights altered: MODEL_INVALID, both languages say reinstall (npm ci)', () => {
    const err = modelStartError(new ModelError('MODEL_ALTERED', 'model ssdMobilenetv1: sha256 of /x/ssd.bin is 00, the manifest says 11', { details: { model: 'ssdMobilenetv1', file: '/x/ssd.bin' } }), recognizerModels({ kind: 'faceapi' }));
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toContain('reinstall them (npm ci)');
    expect(err.zh).toBe('随附的模型文件 /x/ssd.bin 缺失、被改动或无法加载，请重新安装 (npm ci)');
  });
});
