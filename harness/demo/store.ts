/**
 * The demo store of `npm start`: its goods, shelves and villagers are the union of those in
 * some of the scenario files (fixtures/scenarios/), and its visits are their steps, so the
 * demo a newcomer watches is exactly what the scenario tests prove.
 *
 * Power cuts are left out (the demo's daemon is the one serving the page); restocking is done
 * by the loop itself when shelves run low, so stock stays within the scales' capacity.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario, type Scenario, type ScenarioVillager } from '../scenario/scenario.ts';
import type { PerformableStep } from '../scenario/steps.ts';

/** Scenarios the demo walks through, in this order, round after round. */
export const DEMO_SCENARIOS = ['plain-purchase', 'take-two-return-one', 'unknown-face-then-card', 'two-villagers', 'wrong-slot-return', 'balance-too-small'] as const;
/** Read for its maintainer only: its own restock step would overfill the shelves round after round. */
const CAST_ONLY = ['restock'] as const;

export interface DemoVisit { name: string; description: string; steps: PerformableStep[] }
export interface DemoStore extends Pick<Scenario, 'products' | 'slots' | 'villagers'> {
  visits: DemoVisit[];
  /** Who restocks the shelves when they run low. */
  maintainer: ScenarioVillager;
}

export const SCENARIO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/scenarios');

export function loadDemoStore(dir = SCENARIO_DIR): DemoStore {
  const store: DemoStore = { products: [], slots: [], villagers: [], visits: [], maintainer: undefined as unknown as ScenarioVillager };
  for (const name of [...DEMO_SCENARIOS, ...CAST_ONLY]) {
    const s = loadScenario(path.join(dir, `${name}.yaml`));
    // the files agree on goods and shelves; the first definition wins
    for (const p of s.products) if (!store.products.some((q) => q.sku === p.sku)) store.products.push(p);
    for (const sl of s.slots) if (!store.slots.some((q) => q.slot === sl.slot)) store.slots.push(sl);
    for (const v of s.villagers) {
      const known = store.villagers.find((q) => q.id === v.id);
      if (!known) store.villagers.push({ ...v });
      else {
        // a villager who shows a face in one file and only a card in another has both
        if (!known.card && v.card) known.card = v.card;
        if (!known.face && v.face) Object.assign(known, { face: v.face, enrolled: v.enrolled });
      }
    }
    if ((CAST_ONLY as readonly string[]).includes(name)) continue;
    const steps = s.steps.filter((st): st is PerformableStep => st.kind !== 'power_cut');
    store.visits.push({ name: s.name, description: s.description, steps });
  }
  const maintainer = store.villagers.find((v) => v.maintainer);
  if (!maintainer) throw new Error('the demo scenarios name no maintainer');
  store.maintainer = maintainer;
  return store;
}

/**
 * The steps of one visit as performed in a given round: every other round, villagers show
 * the QR code on their phone instead of their passbook card; without face recognition
 * (models off), faces become cards, as at a real door.
 */
export function visitSteps(visit: DemoVisit, round: number, opts: { faces: boolean; qr: boolean }, villagers: readonly ScenarioVillager[]): PerformableStep[] {
  return visit.steps.map((st): PerformableStep => {
    if (st.kind !== 'enter') return st;
    const v = villagers.find((q) => q.id === st.villager);
    if (st.by === 'face' && !opts.faces) return v?.card ? { ...st, by: 'card' } : st;
    if (st.by === 'card' && opts.qr && round % 2 === 1) return { ...st, by: 'qr' };
    return st;
  });
}
