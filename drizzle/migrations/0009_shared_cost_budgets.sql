CREATE TABLE "cost_budgets" (
	"caller" text PRIMARY KEY NOT NULL,
	"level" double precision NOT NULL,
	"refill_per_second" double precision NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
