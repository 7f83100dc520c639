/**
 * The inference worker: owns the face engine and the gallery, so a frame's detection,
 * descriptor, liveness and 1:N match never run on the main event loop (serial, MQTT, HTTP).
 * Started through worker-entry.mjs, which registers tsx first.
 */
import { parentPort } from 'node:worker_threads';
import { isModelError } from './errors.ts';
import { FaceEngine } from './face-engine.ts';
import { Gallery, pooledQuery } from './gallery.ts';
import { gallerySealed, nearestSealed } from './sealed.ts';
import { threadMemory } from './runtime.ts';
import type { EngineStarted, Recognition, WorkerConversion, WorkerRequest, WorkerResponse } from './protocol.ts';

if (!parentPort) throw new Error('engine-worker.ts must run in a worker thread');
const port: NonNullable<typeof parentPort> = parentPort;

let engine: FaceEngine | undefined;
let gallery = new Gallery();

function needEngine(): FaceEngine {
  if (!engine) throw new Error('engine not started');
  return engine;
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case 'start': {
      const e = new FaceEngine({ ...req.engine, onConversion: (step) => port.postMessage({ event: 'conversion', step } satisfies WorkerConversion) });
      await e.start();
      engine = e;
      // the gallery holds descriptors of the length this recognizer gives
      if (gallery.dimension !== e.descriptorLength) gallery = new Gallery(1024, e.descriptorLength);
      const started: EngineStarted = { engine: e.engine, fallback: e.fallback, notes: [...e.notes] };
      return started;
    }
    case 'recognise': {
      const a = await needEngine().analyse(req.frame, { ...req.opts, allFaces: false });
      const face = a.faces[0];
      const t = performance.now();
      const match = face?.descriptor ? gallery.search(face.descriptor, { cohort: req.opts.cohort === true }) : null;
      // entry.match.pool: the pool so far with this face added, searched as a frame is (plain distances)
      const pooled = face?.descriptor && req.opts.pool ? gallery.search(pooledQuery(req.opts.pool, face.descriptor)) : null;
      const matchMs = performance.now() - t;
      let summary: Recognition['face'] = null;
      if (face) {
        const { descriptor: _d, ...rest } = face;
        summary = rest;
      }
      const out: Recognition = { faceCount: a.faceCount, face: summary, match, times: { ...a.times, match: matchMs }, ...(face?.descriptor ? { descriptor: face.descriptor } : {}), ...(pooled ? { pooled } : {}) };
      return out;
    }
    case 'analyse':
      return await needEngine().analyse(req.frame, req.opts);
    case 'gallery.add':
      gallery.add(req.villagerId, req.descriptors);
      return gallery.size;
    case 'gallery.remove':
      return gallery.remove(req.villagerId);
    case 'gallery.replace':
      gallery.clear();
      for (const e of req.entries) gallery.add(e.villagerId, e.descriptors);
      return gallery.size;
    case 'gallery.replaceSealed':
      // opened into the live gallery only once every row opened: a bad row leaves the old one in place
      gallery = gallerySealed(req.key, req.batch, gallery.dimension);
      return gallery.size;
    case 'sealed.nearest':
      return nearestSealed(req.key, req.batch, req.queries);
    case 'memory':
      return threadMemory();
    case 'stop':
      engine?.stop();
      engine = undefined;
      return null;
  }
}

port.on('message', (req: WorkerRequest) => {
  handle(req).then(
    (result) => port.postMessage({ id: req.id, ok: true, result } satisfies WorkerResponse),
    (err: unknown) => {
      const error = isModelError(err)
        ? { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
        : { code: 'ENGINE_FAILED' as const, message: err instanceof Error ? err.message : String(err) };
      port.postMessage({ id: req.id, ok: false, error } satisfies WorkerResponse);
    },
  );
});
