/**
 * Which restocks are still on their way (docs/ARCHITECTURE.md, "The rules"): SCHEDULED, or
 * PARTIALLY_RECEIVED with units still outstanding. Written once as SQL ({@link openRestockCondition})
 * for every statement that sums incoming units or dates the backlog, and once as TypeScript
 * ({@link isOpenRestock}) for a restock already read, both from `OPEN_RESTOCK_STATUSES`.
 */
import { type Column, sql, type SQL } from "drizzle-orm";
import { OPEN_RESTOCK_STATUSES, type OpenRestockStatus, type RestockStatus } from "../../drizzle/contract.js";

/** Whether a row of `restocks` (the table, or an `alias()` of it) is open: its status is one of `OPEN_RESTOCK_STATUSES`. */
export function openRestockCondition(restocks: { status: Column }): SQL {
  return sql`${restocks.status} IN (${sql.join(
    OPEN_RESTOCK_STATUSES.map((status) => sql`${status}`),
    sql`, `,
  )})`;
}

/** Whether a restock with this status is open: the rule of {@link openRestockCondition}, for a row already read. */
export function isOpenRestock(status: RestockStatus): status is OpenRestockStatus {
  return (OPEN_RESTOCK_STATUSES as readonly RestockStatus[]).includes(status);
}
