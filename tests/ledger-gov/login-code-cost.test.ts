/**
 * A one-time login code costs the same scrypt work whatever the villager holds: a wrong code for
 * a villager with three open codes, with none, or for an id nobody has, and a right one. Else the
 * time of one unauthenticated login with a made-up code tells an outsider who was just printed a
 * slip (a target for guessing it). Counted by wrapping node:crypto's scrypt, so the result does
 * not depend on the machine's load.
 */
import type * as Crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

const counter = vi.hoisted(() => ({ n: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const orig = await importOriginal<typeof Crypto>();
  const scrypt = ((...args: unknown[]) => {
    counter.n++;
    return (orig.scrypt as (...a: unknown[]) => void)(...args);
  }) as typeof orig.scrypt;
  return { ...orig, default: { ...orig, scrypt }, scrypt };
});

describe(`one-time login codes cost the same whoever holds them (${ledgerDbKind})`, () => {
  let g: GovApp;
  const codes: string[] = [];
  beforeAll(async () => {
    g = await govApp();
    await g.villager(g.a, 'holder');
    await g.villager(g.a, 'nocode');
    for (let k = 0; k < 3; k++) {
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/villagers/holder/login-codes`, {});
      expect(r.statusCode).toBe(201);
      codes.push((r.json() as { code: string }).code);
    }
  });
  afterAll(async () => g.close());

  const costOf = async (villager: string, code: string, status: number) => {
    counter.n = 0;
    const r = await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager, code });
    expect(r.statusCode, r.body).toBe(status);
    return counter.n;
  };

  it('a wrong code: the same for a villager holding 3 open codes, one holding none and an unknown id; a right code too', async () => {
    const none = await costOf('nocode', 'ZZZZ-ZZZZ', 401);
    const held = await costOf('holder', 'ZZZZ-ZZZZ', 401);
    const nobody = await costOf('no-such-villager', 'ZZZZ-ZZZZ', 401);
    // the oldest of the three still signs in, once
    const right = await costOf('holder', codes[0]!, 200);
    expect({ none, nobody, held, right }).toEqual({ none, nobody: none, held: none, right: none });
    await costOf('holder', codes[0]!, 401);
  });
});
