/**
 * The demo catalogue `npm start` loads into an empty database: two locations and twenty products
 * covering every case the engine handles. It goes through the services, not raw inserts, so the
 * demo data keeps every invariant and has a real event log behind it.
 */
import { sql } from "drizzle-orm";
import { type Database, rows } from "../../drizzle/db.js";
import { createLocation, getDefaultLocation } from "../services/location.service.js";
import { placeOrder } from "../services/order.service.js";
import { createProduct } from "../services/product.service.js";
import { rescheduleRestock, scheduleRestock } from "../services/restock.service.js";
import { adjustStock } from "../services/stock.service.js";
import type { CreateProductInput } from "../services/types.js";

const DAY = 86_400_000;

interface DemoProduct extends CreateProductInput {
  eastStock?: number;
  /** Scheduled restocks: [days from now, units]. */
  restocks?: [number, number][];
  /** Orders placed after stocking: [customer, units]. */
  orders?: [string, number][];
}

const CATALOGUE: DemoProduct[] = [
  {
    sku: "TSHIRT-BLK-M",
    name: "Organic T-shirt, black, M",
    price: "24.00",
    backorderPolicy: "ALLOW",
    initialStock: 120,
    orders: [["ana@example.com", 2]],
  },
  { sku: "TSHIRT-WHT-M", name: "Organic T-shirt, white, M", price: "24.00", backorderPolicy: "ALLOW", initialStock: 80 },
  {
    sku: "HOODIE-GRY-L",
    name: "Heavy hoodie, grey, L",
    price: "59.00",
    backorderPolicy: "ALLOW",
    restocks: [
      [3, 40],
      [12, 60],
    ],
    orders: [
      ["ben@example.com", 2],
      ["chloe@example.com", 25],
      ["dev@example.com", 20],
      ["emma@example.com", 5],
    ],
  },
  {
    sku: "SNEAKER-RUN-42",
    name: "Trail running shoe, EU 42",
    price: "119.00",
    backorderPolicy: "ALLOW",
    initialStock: 4,
    restocks: [[7, 24]],
    orders: [
      ["farid@example.com", 3],
      ["gina@example.com", 2],
      ["hugo@example.com", 1],
    ],
  },
  { sku: "MUG-CERAMIC", name: "Ceramic mug, 350 ml", price: "12.50", backorderPolicy: "DENY", initialStock: 200 },
  { sku: "POSTER-LTD", name: "Limited art print (numbered)", price: "35.00", backorderPolicy: "DENY", initialStock: 3, orders: [["ines@example.com", 1]] },
  {
    sku: "LAMP-DESK",
    name: "Desk lamp, brass",
    price: "79.00",
    backorderPolicy: "ALLOW",
    backorderLimit: 10,
    restocks: [[20, 30]],
    orders: [
      ["jon@example.com", 4],
      ["kai@example.com", 4],
    ],
  },
  {
    sku: "CHAIR-ERGO",
    name: "Ergonomic office chair",
    price: "349.00",
    backorderPolicy: "ALLOW",
    leadTimeDays: 21,
    orders: [
      ["lena@example.com", 1],
      ["max@example.com", 2],
    ],
  },
  { sku: "BACKPACK-25L", name: "Daypack, 25 l", price: "89.00", backorderPolicy: "ALLOW", initialStock: 15, eastStock: 10 },
  { sku: "BOTTLE-STEEL", name: "Steel bottle, 750 ml", price: "19.00", backorderPolicy: "ALLOW", initialStock: 60 },
  {
    sku: "SOCKS-3PK",
    name: "Merino socks, 3 pairs",
    price: "14.00",
    backorderPolicy: "ALLOW",
    restocks: [[2, 100]],
    orders: [
      ["nora@example.com", 6],
      ["omar@example.com", 3],
    ],
  },
  { sku: "CAP-LOGO", name: "Logo cap", price: "22.00", backorderPolicy: "DENY" },
  {
    sku: "JACKET-RAIN-M",
    name: "Rain jacket, M",
    price: "149.00",
    backorderPolicy: "ALLOW",
    initialStock: 2,
    restocks: [[5, 10]],
    orders: [
      ["pia@example.com", 3],
      ["quinn@example.com", 2],
    ],
  },
  { sku: "NOTEBOOK-A5", name: "Dot-grid notebook, A5", price: "9.00", backorderPolicy: "ALLOW", initialStock: 300 },
  { sku: "PEN-GEL-5PK", name: "Gel pens, 5 pack", price: "7.50", backorderPolicy: "ALLOW", minOrderQuantity: 2, maxOrderQuantity: 50, initialStock: 150 },
  {
    sku: "HEADPHONES-BT",
    name: "Wireless headphones",
    price: "199.00",
    backorderPolicy: "ALLOW",
    leadTimeDays: 30,
    restocks: [[10, 5]],
    orders: [
      ["rosa@example.com", 3],
      ["sam@example.com", 4],
    ],
  },
  { sku: "KEYBOARD-MECH", name: "Mechanical keyboard", price: "129.00", backorderPolicy: "ALLOW", eastStock: 5 },
  {
    sku: "MONITOR-27",
    name: "27-inch monitor",
    price: "299.00",
    backorderPolicy: "ALLOW",
    maxOrderQuantity: 2,
    restocks: [[14, 12]],
    orders: [
      ["tom@example.com", 2],
      ["uma@example.com", 1],
    ],
  },
  { sku: "GIFT-CARD-50", name: "Gift card, 50", price: "50.00", backorderPolicy: "DENY", initialStock: 1000 },
  {
    sku: "TENT-2P",
    name: "Two-person tent",
    price: "229.00",
    backorderPolicy: "ALLOW",
    leadTimeDays: 45,
    initialStock: 1,
    orders: [["vera@example.com", 2]],
  },
];

/** True when the database holds no products yet. */
export async function isEmpty(db: Database): Promise<boolean> {
  const [row] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM products`);
  return Number(row.n) === 0;
}

/** Loads the demo catalogue when the database has no products; returns whether it did. */
export async function seedDemo(db: Database): Promise<boolean> {
  if (!(await isEmpty(db))) return false;
  await getDefaultLocation(db);
  const east = await createLocation(db, { code: "EAST", name: "East fulfilment centre", priority: 10 });
  const now = Date.now();
  for (const { eastStock, restocks = [], orders = [], ...input } of CATALOGUE) {
    const product = await createProduct(db, input);
    if (eastStock) await adjustStock(db, { productId: product.id, locationId: east.id, delta: eastStock, reason: "opening count" });
    const scheduled = [];
    for (const [days, quantity] of restocks) {
      scheduled.push(
        await scheduleRestock(db, {
          productId: product.id,
          quantity,
          expectedAt: new Date(now + days * DAY),
          reference: `PO-${product.sku}-${days}`,
        }),
      );
    }
    for (const [customer, quantity] of orders) {
      await placeOrder(db, { customer, lines: [{ productId: product.id, quantity }] });
    }
    // The supplier slipped: the jacket's restock moves out, and its waiting customers are now late.
    if (product.sku === "JACKET-RAIN-M") await rescheduleRestock(db, scheduled[0].id, new Date(now + 15 * DAY));
  }
  await placeOrder(db, {
    customer: "walter@example.com",
    lines: [
      { sku: "TSHIRT-WHT-M", quantity: 3 },
      { sku: "HOODIE-GRY-L", quantity: 1 },
      { sku: "MUG-CERAMIC", quantity: 2 },
    ],
  });
  return true;
}
