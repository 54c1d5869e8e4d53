-- Custom data migration: RestockStatus gained PARTIALLY_RECEIVED (drizzle/contract.ts). A restock
-- partly received before it stayed SCHEDULED; it becomes PARTIALLY_RECEIVED. Both are open, so
-- incoming units, dates and what may be done with it do not change.
UPDATE "restocks" SET "status" = 'PARTIALLY_RECEIVED'
WHERE "status" = 'SCHEDULED' AND "received_quantity" > 0 AND "received_quantity" < "quantity";
