/**
 * What the demo (`npm start`: demo mode on simulated hardware) runs instead of a store's parts,
 * read from the config alone: the daemon (edge/main.ts) composes by these, and `store-edge
 * doctor` reports by them, so a healthy demo is reported as it runs.
 */
import type { Config } from './schema.ts';

/**
 * The demo with the default camera (none configured: /dev/video0) opens no camera: the demo and
 * the scenario runner hand the door their own pictures. A camera the config names is opened.
 */
export function demoWithoutCamera(c: Config): boolean {
  return c.demo && c.entry.camera.kind === 'v4l2' && c.entry.camera.device === '/dev/video0';
}

/** Whether the demo loop runs for this config (harness/demo/): demo mode on simulated hardware with `demo_loop` on. */
export function demoLoopRuns(c: Config): boolean {
  return c.demo && c.demo_loop && c.drivers.simulated;
}

/**
 * The demo loop runs with its own village (harness/demo/index.ts): with sync off in the config,
 * the demo starts an embedded broker and the village ledger beside the store and turns the
 * store's sync on towards them.
 */
export function demoBringsVillage(c: Config): boolean {
  return demoLoopRuns(c) && !c.sync.enabled;
}
