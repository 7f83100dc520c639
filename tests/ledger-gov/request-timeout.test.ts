/**
 * A client that sends part of a request and stops: fastify's default is no time limit, so the
 * ledger kept the connection, and its shutdown waited on it, for ever. The ledger's server now
 * has Node's own limits (cloud-sync/ledger/api.ts); waiting them out (300 s, checked every 30 s)
 * is too long for a test, so this checks the listening server carries them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../../cloud-sync/ledger/api.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe("the ledger's API: a request that never finishes arriving", () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
    await g.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await g.close();
  });

  it('the listening server limits how long a request and its headers may take', async () => {
    expect(g.app.server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect(g.app.server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(REQUEST_TIMEOUT_MS).toBeGreaterThan(0);
    expect(HEADERS_TIMEOUT_MS).toBeGreaterThan(0);
  });
});
