ALTER TABLE "lost_demand" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "lost_demand_request_key" ON "lost_demand" USING btree ("idempotency_key","product_id","code");