-- Completes 0006 (idempotency keys scoped per API key). drizzle-kit 0.31 cannot name a primary key
-- it drops and leaves the statement commented out in generated SQL; the primary key on "key" alone
-- would keep one key string global, so it is dropped here. "idempotency_keys_scope_key"
-- (api_key_id, key) NULLS NOT DISTINCT, added by 0006, is the table's uniqueness from now on.
-- Rows written before 0006 keep api_key_id NULL: see claimIdempotencyKey in server/services/order.service.ts.
ALTER TABLE "idempotency_keys" DROP CONSTRAINT "idempotency_keys_pkey";
