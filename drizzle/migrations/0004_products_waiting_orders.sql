ALTER TABLE "products" ADD COLUMN "waiting_orders" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Backfill from the queues before the check holds the counter to them (added by hand to drizzle-kit's output).
UPDATE "products" p SET "waiting_orders" = w.n
FROM (SELECT "product_id", count(*)::int AS n FROM "backorders" WHERE "status" = 'WAITING' GROUP BY 1) w
WHERE p."id" = w."product_id";--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_waiting_orders_check" CHECK ("products"."waiting_orders" >= 0 AND ("products"."waiting_orders" = 0) = ("products"."backordered" = 0));