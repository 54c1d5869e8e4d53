CREATE TABLE "order_count_changes" (
	"product_id" integer,
	"status" text NOT NULL,
	"slot" smallint,
	"n" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "order_counts" (
	"status" text NOT NULL,
	"slot" smallint NOT NULL,
	"n" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "order_counts_status_slot_pk" PRIMARY KEY("status","slot"),
	CONSTRAINT "order_counts_slot_check" CHECK ("order_counts"."slot" >= 0 AND "order_counts"."slot" < 16)
);
--> statement-breakpoint
CREATE TABLE "product_order_counts" (
	"product_id" integer NOT NULL,
	"status" text NOT NULL,
	"n" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "product_order_counts_product_id_status_pk" PRIMARY KEY("product_id","status")
);
--> statement-breakpoint
-- Added by hand to drizzle-kit's output (docs/ARCHITECTURE.md, "Counting"): the triggers that keep
-- order_counts and product_order_counts, and their first values.
--
-- Statement triggers with transition tables: a statement that inserts or changes a million orders
-- costs one aggregate, not a million row triggers. Each appends the counter changes it found to
-- order_count_changes; a deferred trigger adds them to the counters at commit. So a transaction
-- locks counter rows only at commit, after every other lock it takes, and in one sorted order:
-- counters never take part in a deadlock, and a hot counter row is held only while its
-- transaction commits. The changes are counted in the transaction of the change, and a rolled
-- back statement or savepoint takes its changes with it.
--
-- They rely on what the services guarantee and the audit checks (counter.* checks): a product is in one
-- line of an order at most (placeOrder refuses it twice), and an order's lines are deleted in an
-- earlier statement than the order (a statement deleting both loses the product counts:
-- rebuildOrderCounters repairs them). Loads that bypass triggers call rebuildOrderCounters.
LOCK TABLE "orders", "order_lines" IN SHARE ROW EXCLUSIVE MODE;--> statement-breakpoint
-- Its rows never outlive their transaction: no WAL for them.
ALTER TABLE "order_count_changes" SET UNLOGGED;--> statement-breakpoint
-- `backorder.order_counts` (a transaction-local setting) is 'pending' while this transaction has
-- changes not yet added: the first deferred call adds them all, the others return at once.
CREATE FUNCTION "order_counts_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('backorder.order_counts', true) IS DISTINCT FROM 'pending' THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('backorder.order_counts', 'applied', true);
  -- Only this transaction's rows are visible: nobody else's ever commit.
  INSERT INTO "order_counts" AS c ("status", "slot", "n")
  SELECT "status", "slot", sum("n") FROM "order_count_changes" WHERE "product_id" IS NULL
  GROUP BY 1, 2 HAVING sum("n") <> 0 ORDER BY 1, 2
  ON CONFLICT ("status", "slot") DO UPDATE SET "n" = c."n" + excluded."n";
  INSERT INTO "product_order_counts" AS c ("product_id", "status", "n")
  SELECT "product_id", "status", sum("n") FROM "order_count_changes" WHERE "product_id" IS NOT NULL
  GROUP BY 1, 2 HAVING sum("n") <> 0 ORDER BY 1, 2
  ON CONFLICT ("product_id", "status") DO UPDATE SET "n" = c."n" + excluded."n";
  DELETE FROM "order_count_changes";
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "order_count_changes_apply" AFTER INSERT ON "order_count_changes"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "order_counts_apply"();--> statement-breakpoint
-- Each function marks the changes pending before it appends them: under SET CONSTRAINTS
-- IMMEDIATE the deferred trigger fires as soon as the INSERT ends.
CREATE FUNCTION "order_counts_orders_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('backorder.order_counts', 'pending', true);
  INSERT INTO "order_count_changes" ("status", "slot", "n")
  SELECT "status", "id" % 16, count(*) FROM new_orders GROUP BY 1, 2;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION "order_counts_orders_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('backorder.order_counts', 'pending', true);
  WITH moved AS (
    SELECT o."id", o."status" AS "from", n."status" AS "to"
    FROM old_orders o JOIN new_orders n ON n."id" = o."id"
    WHERE o."status" <> n."status"
  ), order_products AS (
    SELECT DISTINCT l."order_id", l."product_id" FROM "order_lines" l WHERE l."order_id" IN (SELECT "id" FROM moved)
  ), changes AS (
    SELECT NULL::integer AS "product_id", "from" AS "status", "id" % 16 AS "slot", -1 AS "n" FROM moved
    UNION ALL SELECT NULL, "to", "id" % 16, 1 FROM moved
    UNION ALL SELECT p."product_id", m."from", NULL, -1 FROM order_products p JOIN moved m ON m."id" = p."order_id"
    UNION ALL SELECT p."product_id", m."to", NULL, 1 FROM order_products p JOIN moved m ON m."id" = p."order_id"
  )
  INSERT INTO "order_count_changes" ("product_id", "status", "slot", "n")
  SELECT "product_id", "status", "slot", sum("n") FROM changes GROUP BY 1, 2, 3 HAVING sum("n") <> 0;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION "order_counts_orders_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('backorder.order_counts', 'pending', true);
  INSERT INTO "order_count_changes" ("status", "slot", "n")
  SELECT "status", "id" % 16, -count(*) FROM old_orders GROUP BY 1, 2;
  RETURN NULL;
END $$;--> statement-breakpoint
-- Lines are counted under their order's status as it is after the statement: an order is inserted
-- with its final status in the statement that inserts its lines (writeOrder), or before them.
CREATE FUNCTION "order_counts_lines_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('backorder.order_counts', 'pending', true);
  INSERT INTO "order_count_changes" ("product_id", "status", "n")
  SELECT p."product_id", o."status", count(*)
  FROM (SELECT DISTINCT "order_id", "product_id" FROM new_lines) p JOIN "orders" o ON o."id" = p."order_id"
  GROUP BY 1, 2;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION "order_counts_lines_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('backorder.order_counts', 'pending', true);
  INSERT INTO "order_count_changes" ("product_id", "status", "n")
  SELECT p."product_id", o."status", -count(*)
  FROM (SELECT DISTINCT "order_id", "product_id" FROM old_lines) p JOIN "orders" o ON o."id" = p."order_id"
  GROUP BY 1, 2;
  RETURN NULL;
END $$;--> statement-breakpoint
-- No service moves a line to another order or product; a row trigger on those two columns only
-- (transition tables cannot go with a column list) keeps the counts right if anything does, at no
-- cost to the updates of a line's units.
CREATE FUNCTION "order_counts_line_moved"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD."order_id" = NEW."order_id" AND OLD."product_id" = NEW."product_id" THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('backorder.order_counts', 'pending', true);
  INSERT INTO "order_count_changes" ("product_id", "status", "n")
  SELECT OLD."product_id", "status", -1 FROM "orders" WHERE "id" = OLD."order_id"
  UNION ALL SELECT NEW."product_id", "status", 1 FROM "orders" WHERE "id" = NEW."order_id";
  RETURN NULL;
END $$;--> statement-breakpoint
-- TRUNCATE fires no DELETE trigger: the counts of what it emptied go with it.
CREATE FUNCTION "order_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "product_order_counts";
  DELETE FROM "order_count_changes" WHERE "product_id" IS NOT NULL;
  IF TG_TABLE_NAME = 'orders' THEN
    DELETE FROM "order_counts";
    DELETE FROM "order_count_changes";
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "orders_count_inserted" AFTER INSERT ON "orders" REFERENCING NEW TABLE AS new_orders
  FOR EACH STATEMENT EXECUTE FUNCTION "order_counts_orders_inserted"();--> statement-breakpoint
CREATE TRIGGER "orders_count_updated" AFTER UPDATE ON "orders" REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
  FOR EACH STATEMENT EXECUTE FUNCTION "order_counts_orders_updated"();--> statement-breakpoint
CREATE TRIGGER "orders_count_deleted" AFTER DELETE ON "orders" REFERENCING OLD TABLE AS old_orders
  FOR EACH STATEMENT EXECUTE FUNCTION "order_counts_orders_deleted"();--> statement-breakpoint
CREATE TRIGGER "orders_count_truncated" AFTER TRUNCATE ON "orders"
  FOR EACH STATEMENT EXECUTE FUNCTION "order_counts_truncated"();--> statement-breakpoint
CREATE TRIGGER "order_lines_count_inserted" AFTER INSERT ON "order_lines" REFERENCING NEW TABLE AS new_lines
  FOR EACH STATEMENT EXECUTE FUNCTION "order_counts_lines_inserted"();--> statement-breakpoint
CREATE TRIGGER "order_lines_count_deleted" AFTER DELETE ON "order_lines" REFERENCING OLD TABLE AS old_lines
  FOR EACH STATEMENT EXECUTE FUNCTION "order_counts_lines_deleted"();--> statement-breakpoint
CREATE TRIGGER "order_lines_count_moved" AFTER UPDATE OF "order_id", "product_id" ON "order_lines"
  FOR EACH ROW EXECUTE FUNCTION "order_counts_line_moved"();--> statement-breakpoint
CREATE TRIGGER "order_lines_count_truncated" AFTER TRUNCATE ON "order_lines"
  FOR EACH STATEMENT EXECUTE FUNCTION "order_counts_truncated"();--> statement-breakpoint
-- The first values, from the orders already there (the lock above keeps writers out until commit).
INSERT INTO "order_counts" ("status", "slot", "n")
SELECT "status", "id" % 16, count(*) FROM "orders" GROUP BY 1, 2;--> statement-breakpoint
INSERT INTO "product_order_counts" ("product_id", "status", "n")
SELECT l."product_id", o."status", count(DISTINCT o."id")
FROM "order_lines" l JOIN "orders" o ON o."id" = l."order_id"
GROUP BY 1, 2;
