/**
 * How the door decides on the generated sequences (presentations.ts) of one demo face, with
 * the passive check alone and with the challenge (`always`, turn): each sequence replayed
 * (up to six loops) through `faces present`'s decision (the door's own code) with the real
 * face engine. The numbers in docs/liveness.md come from:
 *
 *   nice npx tsx harness/liveness/measure.ts [--photo sample2.jpg] [--seeds 1,2,3]
 *
 * One line per sequence, then the JSON summary on the last line.
 */
import { parseArgs } from 'node:util';
import { FaceEngine, type FrameAnalysis, type RgbFrame } from '../../models/face-engine.ts';
import { Gallery } from '../../models/gallery.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { presentFrames } from '../../edge/entry/present.ts';
import type { FaceAnalyser } from '../../edge/entry/enrol.ts';
import { portraitOf } from '../scenario/faces.ts';
import { faceGeometry, presentationFrames, PRESENTATION_KINDS } from './presentations.ts';

const { values } = parseArgs({ options: { photo: { type: 'string', default: 'sample2.jpg' }, seeds: { type: 'string', default: '1,2,3' } } });
const seeds = (values.seeds ?? '').split(',').map(Number);
if (seeds.some((s) => !Number.isInteger(s) || s < 0)) {
  process.stderr.write(`--seeds 须为逗号分隔的非负整数 / --seeds must be whole numbers separated by commas, got ${values.seeds}\n`);
  process.exit(2);
}
const engine = new FaceEngine({ detectorInputSize: 256, detectorMinScore: 0.4, liveness: false });
await engine.start();
const portrait = await portraitOf(engine, { photo: values.photo ?? 'sample2.jpg', index: 0 });
const straight = (await engine.analyse(portrait, { allFaces: false, gate: null, liveness: false })).faces[0];
if (!straight?.descriptor || !straight.landmarks) throw new Error(`no face in the portrait of ${values.photo}`);
const gallery = new Gallery(straight.descriptor.length);
gallery.add('villager', [straight.descriptor]);
// each frame is analysed once: both configurations decide on the same analyses
const cache = new Map<RgbFrame, FrameAnalysis>();
const analyser: FaceAnalyser = {
  analyse: async (f, o) => {
    let r = cache.get(f);
    if (!r) cache.set(f, (r = await engine.analyse(f, o)));
    return r;
  },
};
const rows: Array<{ kind: string; seed: number; passive: string; challenge: string }> = [];
for (const kind of PRESENTATION_KINDS) {
  for (const seed of seeds) {
    const frames = presentationFrames(kind, portrait, faceGeometry(straight.landmarks), seed);
    const decide = async (mode: 'off' | 'always'): Promise<string> => {
      const cfg = resolveEntryConfig({ liveness: { enabled: false, passive: { enabled: true }, challenge: { mode, kinds: ['turn'], timeout_ms: 3000 } } });
      let i = 0;
      const p = await presentFrames(analyser, gallery, cfg, () => Promise.resolve(i < frames.length * 6 ? (frames[i++ % frames.length] as RgbFrame) : null));
      return `${p.decision}${p.challenge ? ` (${p.challenge.result}, ${p.challenge.attempts} attempt${p.challenge.attempts > 1 ? 's' : ''})` : ''}`;
    };
    const row = { kind, seed, passive: await decide('off'), challenge: await decide('always') };
    rows.push(row);
    process.stdout.write(`${kind} seed ${seed}: passive alone ${row.passive}; with the challenge ${row.challenge}\n`);
  }
}
const admitted = (k: string, col: 'passive' | 'challenge') => rows.filter((r) => r.kind === k && r[col].startsWith('matched')).length;
const summary = Object.fromEntries(PRESENTATION_KINDS.map((k) => [k, { presentations: seeds.length, admittedPassiveAlone: admitted(k, 'passive'), admittedWithChallenge: admitted(k, 'challenge') }]));
process.stdout.write(`${JSON.stringify({ photo: values.photo, seeds, summary, rows })}\n`);
