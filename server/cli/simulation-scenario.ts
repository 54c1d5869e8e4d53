/**
 * The month `npm run simulate` plays (docs/ARCHITECTURE.md, "Simulating a month"), drawn from a
 * seed: the catalogue, the customers' orders and their cancellations, and how each product's
 * supplier keeps its dates. Pure: the same options give the same scenario, and nothing here reads
 * a clock or a database. What depends on the state of the shop (when a restock is ordered and of
 * how much) is decided while the scenario plays (`simulation-run.ts`); the supplier's punctuality
 * for the k-th restock of a product is drawn here, so that it too is fixed by the seed.
 */

export const SIMULATION_KINDS = ["on-time", "late", "mixed"] as const;
/** How suppliers keep their dates: never late, mostly late, or a mix. */
export type SimulationKind = (typeof SIMULATION_KINDS)[number];

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** The bounds of the command's options, checked before anything runs. */
export const SIMULATION_LIMITS = { days: { min: 1, max: 365 }, products: { min: 1, max: 100 } } as const;

export interface ScenarioOptions {
  seed: number;
  days: number;
  kind: SimulationKind;
  products: number;
  /** The first simulated instant, in ms since the epoch (a Monday 08:00 UTC by default, so that runs print the same dates). */
  start: number;
}

/** The default start: Monday 6 January 2025, 08:00 UTC. A fixed date keeps the printed table identical between runs. */
export const DEFAULT_START = Date.UTC(2025, 0, 6, 8);

/** What part a product plays: backorders without a cap, capped by a limit or a wait, or refused (DENY). */
export type ProductRole = "open" | "limited" | "wait-capped" | "deny";

/** The order of roles along the catalogue: with 8 products, five open, one of each other role. */
const ROLE_CYCLE: readonly ProductRole[] = ["open", "limited", "open", "deny", "open", "wait-capped", "open", "open"];

export interface SimulatedProduct {
  sku: string;
  name: string;
  price: string;
  role: ProductRole;
  backorderPolicy: "ALLOW" | "DENY";
  backorderLimit: number | null;
  maxWaitDays: number | null;
  leadTimeDays: number;
  initialStock: number;
  /** Mean units ordered per day. */
  dailyDemand: number;
  /** The shop orders a restock when available + incoming − backordered falls below this. */
  reorderPoint: number;
  /** Units per restock, beyond the backlog it must also cover. */
  reorderQuantity: number;
}

export interface ArrivalLine {
  /** Index into `Scenario.products`. */
  product: number;
  quantity: number;
}

/** A customer's order, and whether (and when) the customer will try to cancel it. */
export interface Arrival {
  at: number;
  customer: string;
  lines: ArrivalLine[];
  cancel: { at: number; onlyIfWaiting: boolean } | null;
}

export type Punctuality = "early" | "on-time" | "late";

/** How a supplier delivers one restock, relative to the date it gave. */
export interface SupplierDraw {
  punctuality: Punctuality;
  /** Arrival minus expected date, in ms: negative is early (on-time draws are between −6 h and 0), positive late. */
  offset: number;
  /** Late only: the share of the lead time gone when the supplier announces the new date (a reschedule); null: it just arrives late. */
  announceAt: number | null;
  /** A split delivery: this share of the units comes first, between half a day and two days before the rest (and by the expected date). */
  firstShare: number | null;
}

export interface Scenario {
  options: ScenarioOptions;
  products: SimulatedProduct[];
  /** In time order, strictly increasing. */
  arrivals: Arrival[];
  /** Per product, the draw for its 1st, 2nd, … restock (used round when a product orders more). */
  suppliers: SupplierDraw[][];
  /** The hour of day (UTC) the shop ships every order that is ready. */
  shipHour: number;
}

/** The supplier mix of each kind: the chances of early and late (the rest is on time). */
const PUNCTUALITY: Record<SimulationKind, { early: number; late: number }> = {
  "on-time": { early: 0.3, late: 0 },
  mixed: { early: 0.2, late: 0.3 },
  late: { early: 0.1, late: 0.7 },
};

const DRAWS_PER_PRODUCT = 32;

/** A small seeded generator (mulberry32): the same seed gives the same numbers in [0, 1). The tests draw their random states with it too (test/support/random.ts). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draw helpers over one generator, so that every draw is taken in a fixed order. */
class Draws {
  constructor(private readonly next: () => number) {}
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }
  int(min: number, max: number): number {
    return Math.floor(this.uniform(min, max + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Waiting time to the next event of a Poisson process with this rate (per ms). */
  exponential(rate: number): number {
    return -Math.log(1 - this.next()) / rate;
  }
  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)];
  }
}

const PRICES = ["9.90", "14.50", "24.00", "39.00", "59.00", "89.00", "129.00", "249.00"];
const NOUNS = ["Kettle", "Lamp", "Backpack", "Jacket", "Headphones", "Chair", "Tent", "Bottle", "Boots", "Blender", "Monitor", "Scarf"];

function product(draws: Draws, index: number): SimulatedProduct {
  const role = ROLE_CYCLE[index % ROLE_CYCLE.length];
  const leadTimeDays = draws.int(4, 10);
  const dailyDemand = Math.round(draws.uniform(0.7, 2.1) * 10) / 10;
  const initialStock = Math.round(dailyDemand * draws.uniform(role === "deny" ? 6 : 2, role === "deny" ? 10 : 5));
  // Below the demand over the lead time: the shop lets a backlog build and sells on backorder.
  const reorderPoint = Math.max(1, Math.round(dailyDemand * leadTimeDays * draws.uniform(0.2, 0.6)));
  const reorderQuantity = Math.max(4, Math.round(dailyDemand * draws.uniform(7, 12)));
  const price = draws.pick(PRICES);
  const noun = NOUNS[index % NOUNS.length];
  return {
    sku: `SIM-${String(index + 1).padStart(3, "0")}`,
    name: `${noun} ${index + 1} (${role})`,
    price,
    role,
    backorderPolicy: role === "deny" ? "DENY" : "ALLOW",
    backorderLimit: role === "limited" ? Math.max(2, Math.round(dailyDemand * 2)) : null,
    // Shorter than the lead time: units beyond the scheduled restocks are refused (WAIT_TOO_LONG).
    maxWaitDays: role === "wait-capped" ? Math.max(1, leadTimeDays - 3) : null,
    leadTimeDays,
    initialStock,
    dailyDemand,
    reorderPoint: role === "deny" ? Math.round(dailyDemand * leadTimeDays) : reorderPoint,
    reorderQuantity,
  };
}

function supplierDraw(draws: Draws, kind: SimulationKind): SupplierDraw {
  const mix = PUNCTUALITY[kind];
  const roll = draws.uniform(0, 1);
  const punctuality: Punctuality = roll < mix.early ? "early" : roll < mix.early + mix.late ? "late" : "on-time";
  const offset =
    punctuality === "early"
      ? -Math.round(draws.uniform(1, 3) * DAY)
      : punctuality === "late"
        ? Math.round(draws.uniform(1, 5) * DAY)
        : -Math.round(draws.uniform(0, 6) * HOUR);
  const announced = draws.chance(0.5);
  const announceAt = punctuality === "late" && announced ? Math.round(draws.uniform(0.3, 0.9) * 100) / 100 : null;
  const split = draws.chance(0.15);
  const firstShare = split ? Math.round(draws.uniform(0.4, 0.7) * 100) / 100 : null;
  return { punctuality, offset, announceAt, firstShare };
}

/** Units of one order line: mostly one, sometimes a few. */
function lineQuantity(draws: Draws): number {
  const roll = draws.uniform(0, 1);
  return roll < 0.65 ? 1 : roll < 0.88 ? 2 : draws.int(3, 5);
}

/** Mean units of a line as {@link lineQuantity} draws them: 0.65·1 + 0.23·2 + 0.12·4. */
const MEAN_LINE_UNITS = 0.65 + 0.46 + 0.48;

/**
 * Draws a scenario from its options: the catalogue, then the orders (a Poisson process per day of
 * the shop's total demand; a line's product by its share of demand; one order in seven names a
 * second product), then each product's supplier draws.
 */
export function createScenario(options: ScenarioOptions): Scenario {
  const draws = new Draws(seededRandom(options.seed));
  const products = Array.from({ length: options.products }, (_, index) => product(draws, index));
  const weights = products.map((p) => p.dailyDemand / MEAN_LINE_UNITS);
  const ordersPerDay = weights.reduce((sum, w) => sum + w, 0);
  const pickProduct = (except: number): number => {
    const total = weights.reduce((sum, w, i) => (i === except ? sum : sum + w), 0);
    let roll = draws.uniform(0, total);
    for (let i = 0; i < weights.length; i++) {
      if (i === except) continue;
      roll -= weights[i];
      if (roll < 0) return i;
    }
    return weights.length - 1 === except ? 0 : weights.length - 1;
  };
  const end = options.start + options.days * DAY;
  const arrivals: Arrival[] = [];
  const customers = Math.max(20, Math.round(ordersPerDay * options.days * 0.6));
  let at = options.start;
  for (;;) {
    // Whole seconds, and at least one apart: two arrivals never share an instant.
    at = Math.max(at + 1000, Math.round((at + draws.exponential(ordersPerDay / DAY)) / 1000) * 1000);
    if (at >= end) break;
    const first = pickProduct(-1);
    const lines: ArrivalLine[] = [{ product: first, quantity: lineQuantity(draws) }];
    if (products.length > 1 && draws.chance(1 / 7)) lines.push({ product: pickProduct(first), quantity: lineQuantity(draws) });
    const customer = `customer-${draws.int(1, customers)}@example.com`;
    // One customer in twenty changes their mind before shipping; one in eight gives up if still waiting.
    const roll = draws.uniform(0, 1);
    const cancel =
      roll < 0.05
        ? { at: at + Math.round(draws.uniform(0.5, 20) * HOUR), onlyIfWaiting: false }
        : roll < 0.175
          ? { at: at + Math.round(draws.uniform(1, 10) * DAY), onlyIfWaiting: true }
          : null;
    arrivals.push({ at, customer, lines, cancel });
  }
  const suppliers = products.map(() => Array.from({ length: DRAWS_PER_PRODUCT }, () => supplierDraw(draws, options.kind)));
  return { options, products, arrivals, suppliers, shipHour: 16 };
}
