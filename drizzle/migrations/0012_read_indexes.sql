DROP INDEX "order_lines_product_idx";--> statement-breakpoint
CREATE INDEX "backorders_late_idx" ON "backorders" USING btree ((coalesce(CASE WHEN "delayed" THEN '-infinity'::timestamptz ELSE "promised_at" END, 'infinity'::timestamptz))) WHERE "backorders"."status" = 'WAITING';--> statement-breakpoint
CREATE INDEX "order_lines_product_idx" ON "order_lines" USING btree ("product_id","order_id");