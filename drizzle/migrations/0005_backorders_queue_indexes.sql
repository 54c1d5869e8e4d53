DROP INDEX "backorders_queue_idx";--> statement-breakpoint
CREATE INDEX "backorders_global_queue_idx" ON "backorders" USING btree ("priority" DESC NULLS FIRST,"id") WHERE "backorders"."status" = 'WAITING';--> statement-breakpoint
CREATE INDEX "backorders_queue_idx" ON "backorders" USING btree ("product_id","priority" DESC NULLS FIRST,"id") WHERE "backorders"."status" = 'WAITING';