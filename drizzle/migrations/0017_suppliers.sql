CREATE TABLE "suppliers" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "suppliers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"lead_time_days" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "suppliers_lead_time_check" CHECK ("suppliers"."lead_time_days" IS NULL OR "suppliers"."lead_time_days" >= 0)
);
--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "supplier_id" integer;--> statement-breakpoint
ALTER TABLE "restocks" ADD COLUMN "supplier_id" integer;--> statement-breakpoint
ALTER TABLE "restocks" ADD COLUMN "original_expected_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "suppliers_name_key" ON "suppliers" USING btree (lower("name"));--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_supplier_id_suppliers_id_fk" FOREIGN KEY ("supplier_id") REFERENCES "public"."suppliers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "restocks" ADD CONSTRAINT "restocks_supplier_id_suppliers_id_fk" FOREIGN KEY ("supplier_id") REFERENCES "public"."suppliers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "products_supplier_idx" ON "products" USING btree ("supplier_id","id") WHERE "products"."supplier_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "restocks_supplier_received_idx" ON "restocks" USING btree ("supplier_id","received_at") WHERE "restocks"."supplier_id" IS NOT NULL AND "restocks"."status" = 'RECEIVED';