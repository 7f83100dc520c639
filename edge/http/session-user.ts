/** Who is signed in, as the session keeps it (apart from ./auth.ts, so the pages need not import the auth plugin). */
import type { AdminRole } from '../ledger/admin-accounts.ts';

export interface SessionUser {
  username: string;
  display_name: string;
  role: AdminRole;
}
