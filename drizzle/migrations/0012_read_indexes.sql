DROP INDEX "order_lines_product_idx";--> statement-breakpoint
CREATE INDEX "backorders_delayed_idx" ON "backorders" USING btree ("order_id") WHERE "backorders"."status" = 'WAITING' AND "backorders"."delayed";--> statement-breakpoint
CREATE INDEX "backorders_promised_idx" ON "backorders" USING btree ("promised_at") WHERE "backorders"."status" = 'WAITING';--> statement-breakpoint
CREATE INDEX "order_lines_product_idx" ON "order_lines" USING btree ("product_id","order_id");