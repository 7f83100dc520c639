/**
 * `faces evaluate --recognizer A B` side by side: the config's single threshold suits one
 * recognizer only, so each row also shows the recognizer's own safe point on the run.
 */
import { describe, expect, it } from 'vitest';
import { formatComparison } from '../../edge/cli/faces-evaluate.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { summarise } from '../../edge/entry/evaluate.ts';
import type { Probe } from '../../edge/entry/evaluate-metrics.ts';

const probe = (person: string, genuine: boolean, best: [string, number], second: number): Probe => ({
  person, file: `/d/${person}.jpg`, genuine, outcome: 'scored', best: { villagerId: best[0], distance: best[1] }, second: { distance: second }, ownDistance: genuine ? best[1] : null,
});
// two villagers and a stranger; the second recognizer's distances are the first's, three times larger
const base: [string, boolean, [string, number], number][] = [
  ['A', true, ['A', 0.10], 0.40], ['A', true, ['A', 0.23], 0.45], ['B', true, ['B', 0.15], 0.50], ['S', false, ['A', 0.25], 0.40],
];
const run = (scale: number): Probe[] => base.map(([p, g, [v, d], s]) => probe(p, g, [v, d * scale], s * scale));

describe('faces evaluate side by side', () => {
  it("prints each recognizer's own safe threshold and margin beside the config's", () => {
    const config = resolveEntryConfig({});
    const people = { total: 3, enrolled: ['A', 'B'], strangers: ['S'], notEnrolled: [] };
    const enrolment = { photos: 6, templates: 12, refused: { no_face: 0, multiple_faces: 0, low_quality: 0 } };
    const opts = { enrol: 3, seed: 1, targetFar: 0.001 };
    const a = summarise('/d', { ...opts, recognizer: 'small' }, config, run(1), people, enrolment);
    const b = summarise('/d', { ...opts, recognizer: 'wide' }, config, run(3), people, enrolment);
    const lines = formatComparison([a, b], config.match).split('\n');
    expect(lines[0]).toContain('own safe threshold / margin');
    // small: 0.23 clears the stranger's 0.25 only at margin 0.18 (0.18 − 0.02 above the stranger's 0.15)
    expect(lines[1]).toMatch(/^small .*0\.230 \/ 0\.18 → 100\.00 %, 0\/0/);
    // wide: the config accepts none of its genuine probes (0.30 is just above 0.30 in floating point); its own point is three times farther (0.69 and up: 0.23 × 3 lies just above 0.69 in floating point)
    expect(b.atConfig.tar).toBeLessThan(0.5);
    expect(lines[2]).toMatch(/^wide .*0\.69\d \/ 0\.02 → 100\.00 %/);
  });
});
