/** The admin page's password hashing is lib/passwords.ts, shared with the village ledger's staff accounts. */
export { dummyHash, hashPassword, passwordWeakness, verifyPassword } from '../../lib/passwords.ts';
