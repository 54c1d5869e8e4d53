CREATE TABLE "refund_lines" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "refund_lines_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"refund_id" integer NOT NULL,
	"order_line_id" integer NOT NULL,
	"quantity" integer NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	CONSTRAINT "refund_lines_quantity_check" CHECK ("refund_lines"."quantity" > 0 AND "refund_lines"."amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "refunds_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"order_id" integer NOT NULL,
	"reason" text NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	"currency_code" text NOT NULL,
	"reference" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"refunded_at" timestamp with time zone,
	CONSTRAINT "refunds_amount_check" CHECK ("refunds"."amount" >= 0),
	CONSTRAINT "refunds_confirmed_check" CHECK (("refunds"."status" = 'REFUNDED') = ("refunds"."reference" IS NOT NULL) AND ("refunds"."status" = 'REFUNDED') = ("refunds"."refunded_at" IS NOT NULL))
);
--> statement-breakpoint
ALTER TABLE "refund_lines" ADD CONSTRAINT "refund_lines_refund_id_refunds_id_fk" FOREIGN KEY ("refund_id") REFERENCES "public"."refunds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refund_lines" ADD CONSTRAINT "refund_lines_order_line_id_order_lines_id_fk" FOREIGN KEY ("order_line_id") REFERENCES "public"."order_lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "refund_lines_refund_line_key" ON "refund_lines" USING btree ("refund_id","order_line_id");--> statement-breakpoint
CREATE INDEX "refund_lines_order_line_idx" ON "refund_lines" USING btree ("order_line_id");--> statement-breakpoint
CREATE INDEX "refunds_order_idx" ON "refunds" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "refunds_pending_idx" ON "refunds" USING btree ("created_at") WHERE "refunds"."status" = 'PENDING';--> statement-breakpoint
-- Cancellations made before refunds were kept: one refund per order for its cancelled units, at
-- each line's unit price, recorded as already paid back (the shop settled them outside the
-- engine; showing years of history as due would bury what is due now). The audit then holds for
-- every order: its refunds' lines pay exactly its cancelled units.
WITH cancelled AS (
  SELECT "id", "order_id", "cancelled", "unit_price" FROM "order_lines" WHERE "cancelled" > 0
), backfilled AS (
  INSERT INTO "refunds" ("order_id", "reason", "status", "amount", "currency_code", "reference", "created_at", "refunded_at")
  SELECT o."id", 'CANCELLED', 'REFUNDED', sum(c."cancelled" * c."unit_price"), o."currency_code",
         'recorded before refunds were kept (migration 0014)', o."updated_at", o."updated_at"
  FROM "orders" o JOIN cancelled c ON c."order_id" = o."id"
  GROUP BY o."id"
  RETURNING "id", "order_id"
)
INSERT INTO "refund_lines" ("refund_id", "order_line_id", "quantity", "amount")
SELECT b."id", c."id", c."cancelled", c."cancelled" * c."unit_price"
FROM backfilled b JOIN cancelled c ON c."order_id" = b."order_id";
