/**
 * The MQTT topic tree, versioned and scoped per village and store (docs/sync-protocol.md).
 * Everything is published with QoS 1; only `status`, the public board, `alarms` and `alarm-history` are retained.
 */
export const PROTOCOL = 'vps/v1';

/** Village and store ids travel inside topics, so they must never contain `/`, `+` or `#`. */
export const TOPIC_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export interface StoreAddress {
  village: string;
  store: string;
}

/** The leaves under a store's own branch. `up/*` goes to the ledger, `down/*` to the store. */
export const STORE_LEAVES = ['status', 'heartbeat', 'up/rows', 'up/snapshot-request', 'down/ack', 'down/snapshot', 'down/deltas', 'down/beat',
  // operations (cloud-sync/protocol/ops.ts): retained active alarms and the ones that ended, the daily reconciliation
  'alarms', 'alarm-history', 'up/reconcile-request', 'down/reconcile'] as const;
export type StoreLeaf = (typeof STORE_LEAVES)[number];

export const storeTopic = (a: StoreAddress, leaf: StoreLeaf): string => `${PROTOCOL}/${a.village}/store/${a.store}/${leaf}`;

/** Awards, penalties, registry changes, catalogue, commands: one ordered stream per village. */
export const villageEventsTopic = (village: string): string => `${PROTOCOL}/${village}/down/events`;

/**
 * The village's public board (积分公示栏), the latest one retained by the broker so a store that
 * connects has it at once; each is signed and newer than the last (docs/sync-stream.md#the-public-board-downboard).
 */
export const villageBoardTopic = (village: string): string => `${PROTOCOL}/${village}/down/board`;

/**
 * What the ledger subscribes to: every store's upward traffic, presence and (retained) active
 * and ended alarms. `alarm-history` is a level of its own, outside `up/`: a ledger older than it
 * never receives it (rather than refusing an unknown topic).
 */
export const LEDGER_SUBSCRIPTIONS = [`${PROTOCOL}/+/store/+/up/#`, `${PROTOCOL}/+/store/+/status`, `${PROTOCOL}/+/store/+/heartbeat`, `${PROTOCOL}/+/store/+/alarms`, `${PROTOCOL}/+/store/+/alarm-history`] as const;

/** What a store subscribes to: its village's stream and its own `down` branch. */
export const storeSubscriptions = (a: StoreAddress): string[] => [villageEventsTopic(a.village), villageBoardTopic(a.village), `${PROTOCOL}/${a.village}/store/${a.store}/down/#`];

export type ParsedTopic =
  | { kind: 'store'; village: string; store: string; leaf: StoreLeaf }
  | { kind: 'village-events'; village: string }
  | { kind: 'village-board'; village: string };

/** Parse a topic of our tree; anything else (a foreign or malformed topic) is undefined. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(`${PROTOCOL}/`)) return undefined;
  const parts = topic.slice(PROTOCOL.length + 1).split('/');
  const village = parts[0] ?? '';
  if (!TOPIC_ID_RE.test(village)) return undefined;
  if (parts.length === 3 && parts[1] === 'down' && parts[2] === 'events') return { kind: 'village-events', village };
  if (parts.length === 3 && parts[1] === 'down' && parts[2] === 'board') return { kind: 'village-board', village };
  if (parts[1] !== 'store' || parts.length < 4) return undefined;
  const store = parts[2] ?? '';
  const leaf = parts.slice(3).join('/');
  if (!TOPIC_ID_RE.test(store) || !(STORE_LEAVES as readonly string[]).includes(leaf)) return undefined;
  return { kind: 'store', village, store, leaf: leaf as StoreLeaf };
}
