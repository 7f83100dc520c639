/**
 * The API's naming style applied to data whose keys come from elsewhere: the door's decision
 * details are written by the entry pipeline in its own (camelCase) words, and the API answers
 * in snake_case like everything else it says.
 */
const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** `{ unlockError: 'x', retryAfterS: 3 }` → `{ unlock_error: 'x', retry_after_s: 3 }`, nested objects too. */
export function snakeKeys(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[snake(k)] = v !== null && typeof v === 'object' && !Array.isArray(v) ? snakeKeys(v as Record<string, unknown>) : v;
  return out;
}
