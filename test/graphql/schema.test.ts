/**
 * The GraphQL contract (docs/ARCHITECTURE.md, "The GraphQL contract"): the committed `schema/schema.graphql` is what the
 * type-graphql classes emit (so a stale file fails here, not in a partner's client), and the
 * schema keeps every fixed name and shape: root fields and their arguments, types and their
 * fields, the Node interface, enums, connections, payloads and inputs.
 */
import { readFile } from "node:fs/promises";
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { buildGraphQLSchema, printGraphQLSchema, schemaFile } from "../../server/graphql/build-schema.js";

let schema: GraphQLSchema;

beforeAll(async () => {
  schema = await buildGraphQLSchema();
});

/** The named type, failing the test with its name when the schema has none. */
function named(name: string): GraphQLNamedType {
  const type = schema.getType(name);
  if (!type) throw new Error(`the schema has no type ${name}`);
  return type;
}

/** `{ field: "Type!" }` for the given fields of an object, interface or input type (missing ones map to undefined). */
function fieldTypes(typeName: string, fields: readonly string[]): Record<string, string | undefined> {
  const type = named(typeName);
  if (!isObjectType(type) && !isInterfaceType(type) && !isInputObjectType(type)) throw new Error(`${typeName} has no fields`);
  const all = type.getFields() as Record<string, GraphQLField<unknown, unknown> | GraphQLInputField>;
  return Object.fromEntries(fields.map((field) => [field, all[field] ? String(all[field].type) : undefined]));
}

/** A root or object field as the contract states it: its type and the arguments it must take. */
interface Signature {
  type: string;
  args: Record<string, string>;
}

function sig(type: string, args: Record<string, string> = {}): Signature {
  return { type, args };
}

/**
 * The field as the schema has it, seen through the contract: its type, the contract's arguments,
 * and any other argument a client could not leave out (arguments may be added, but not required ones).
 */
function signatureOf(typeName: string, fieldName: string, contract: Signature): Signature | undefined {
  const type = named(typeName);
  if (!isObjectType(type)) throw new Error(`${typeName} is not an object type`);
  const field = type.getFields()[fieldName];
  if (!field) return undefined;
  const args = field.args.filter((arg: GraphQLArgument) => arg.name in contract.args || (isNonNullType(arg.type) && arg.defaultValue === undefined));
  return { type: String(field.type), args: Object.fromEntries(args.map((arg) => [arg.name, String(arg.type)])) };
}

/** Checks every listed field of a root or object type at once, for one readable diff. */
function expectSignatures(typeName: string, contract: Record<string, Signature>): void {
  const actual = Object.fromEntries(Object.entries(contract).map(([field, expected]) => [field, signatureOf(typeName, field, expected)]));
  expect(actual).toEqual(contract);
}

const NODE_TYPES = ["Location", "Product", "Order", "OrderLine", "Backorder", "Restock"];

describe("the committed schema file", () => {
  it("equals what the type-graphql classes emit (run npm run schema:emit when this fails)", async () => {
    const committed = await readFile(schemaFile, "utf8");
    expect(committed).toBe(printGraphQLSchema(schema));
  });

  it("prints the same text on every build, so the staleness check cannot flap", async () => {
    expect(printGraphQLSchema(await buildGraphQLSchema())).toBe(printGraphQLSchema(schema));
  });
});

describe("the fixed names of the GraphQL contract (docs/ARCHITECTURE.md)", () => {
  it("has every Query field with its arguments and result", () => {
    expectSignatures("Query", {
      node: sig("Node", { id: "ID!" }),
      product: sig("Product", { id: "ID", sku: "String" }),
      products: sig("ProductConnection!", { filter: "ProductFilter", first: "Int", after: "String" }),
      order: sig("Order", { id: "ID", number: "String" }),
      orders: sig("OrderConnection!", { filter: "OrderFilter", first: "Int", after: "String" }),
      backlog: sig("BackorderConnection!", { filter: "BacklogFilter", first: "Int", after: "String" }),
      restocks: sig("RestockConnection!", { filter: "RestockFilter", first: "Int", after: "String" }),
      locations: sig("[Location!]!"),
    });
  });

  it("has every Mutation field with its arguments and payload", () => {
    expectSignatures("Mutation", {
      createLocation: sig("LocationPayload!", { input: "CreateLocationInput!" }),
      createProduct: sig("ProductPayload!", { input: "CreateProductInput!" }),
      updateProduct: sig("ProductPayload!", { id: "ID!", input: "UpdateProductInput!" }),
      adjustStock: sig("StockLevelPayload!", { input: "AdjustStockInput!" }),
      placeOrder: sig("OrderPayload!", { input: "PlaceOrderInput!" }),
      cancelOrder: sig("OrderPayload!", { id: "ID!", reason: "String" }),
      cancelOrderLine: sig("OrderPayload!", { id: "ID!", quantity: "Int" }),
      shipOrder: sig("OrderPayload!", { id: "ID!" }),
      scheduleRestock: sig("RestockPayload!", { input: "ScheduleRestockInput!" }),
      rescheduleRestock: sig("RestockPayload!", { id: "ID!", expectedAt: "DateTime!" }),
      receiveRestock: sig("ReceiveRestockPayload!", { id: "ID!", quantity: "Int" }),
      cancelRestock: sig("RestockPayload!", { id: "ID!" }),
      prioritizeBackorder: sig("BackorderPayload!", { id: "ID!", priority: "Int!" }),
    });
  });

  it("has every Subscription field, each taking an after cursor", () => {
    expectSignatures("Subscription", {
      stockChanged: sig("StockChange!", { productIds: "[ID!]", after: "String" }),
      backlogChanged: sig("BacklogChange!", { productIds: "[ID!]", after: "String" }),
      restockChanged: sig("RestockChange!", { productIds: "[ID!]", after: "String" }),
      orderChanged: sig("OrderChange!", { orderIds: "[ID!]", customer: "String", after: "String" }),
      supplierOrderChanged: sig("SupplierOrderChange!", { supplierId: "ID", after: "String" }),
    });
  });

  it("gives the subscription events their fixed fields", () => {
    expect(fieldTypes("StockChange", ["product", "stock", "reason", "cursor", "at"])).toEqual({
      product: "Product!",
      stock: "StockSummary!",
      reason: expect.any(String),
      cursor: "String!",
      at: "DateTime!",
    });
    expect(fieldTypes("BacklogChange", ["product", "backordered", "waitingOrders", "nextExpectedAt", "reason", "cursor", "at"])).toEqual({
      product: "Product!",
      backordered: "Int!",
      waitingOrders: "Int!",
      nextExpectedAt: "DateTime",
      reason: expect.any(String),
      cursor: "String!",
      at: "DateTime!",
    });
    expect(fieldTypes("RestockChange", ["restock", "kind", "filledUnits", "cursor", "at"])).toEqual({
      restock: "Restock!",
      kind: expect.stringMatching(/!$/),
      filledUnits: "Int!",
      cursor: "String!",
      at: "DateTime!",
    });
    expect(fieldTypes("OrderChange", ["order", "kind", "cursor", "at"])).toEqual({
      order: "Order!",
      kind: expect.stringMatching(/!$/),
      cursor: "String!",
      at: "DateTime!",
    });
    expect(fieldTypes("SupplierOrderChange", ["supplierOrder", "kind", "status", "cursor", "at"])).toEqual({
      supplierOrder: "SupplierOrder!",
      kind: "SupplierOrderChangeKind!",
      status: "SupplierOrderStatus!",
      cursor: "String!",
      at: "DateTime!",
    });
  });

  it("has the enums with exactly their fixed values", () => {
    const values = (name: string) => {
      const type = named(name);
      if (!isEnumType(type)) throw new Error(`${name} is not an enum`);
      return type
        .getValues()
        .map((value) => value.name)
        .sort();
    };
    expect({
      BackorderPolicy: values("BackorderPolicy"),
      OrderStatus: values("OrderStatus"),
      BackorderStatus: values("BackorderStatus"),
      RestockStatus: values("RestockStatus"),
      EtaSource: values("EtaSource"),
      ErrorCode: values("ErrorCode"),
    }).toEqual({
      BackorderPolicy: ["ALLOW", "DENY"],
      OrderStatus: ["AWAITING_STOCK", "CANCELLED", "PARTIALLY_SHIPPED", "READY_TO_SHIP", "SHIPPED"],
      BackorderStatus: ["CANCELLED", "FILLED", "WAITING"],
      RestockStatus: ["CANCELLED", "PARTIALLY_RECEIVED", "RECEIVED", "SCHEDULED"],
      EtaSource: ["LEAD_TIME", "RESTOCK", "UNKNOWN"],
      ErrorCode: [
        "ABOVE_MAX_ORDER_QUANTITY",
        "BACKORDER_LIMIT_EXCEEDED",
        "BELOW_MIN_ORDER_QUANTITY",
        "DUPLICATE",
        "IDEMPOTENCY_KEY_REUSED",
        "INSUFFICIENT_STOCK",
        "INVALID_INPUT",
        "INVALID_STATE",
        "NOT_FOUND",
        "OUT_OF_STOCK",
        "WAIT_TOO_LONG",
      ],
    });
  });

  it("names the event kinds of restock and order changes", () => {
    const kinds = (typeName: string) => {
      const kind = named(typeName);
      if (!isObjectType(kind)) throw new Error(`${typeName} is not an object type`);
      const enumName = String(kind.getFields().kind.type).replace(/!$/, "");
      const type = named(enumName);
      if (!isEnumType(type)) throw new Error(`${typeName}.kind is not an enum`);
      return type
        .getValues()
        .map((value) => value.name)
        .sort();
    };
    expect(kinds("RestockChange")).toEqual(["CANCELLED", "RECEIVED", "RESCHEDULED", "SCHEDULED"]);
    expect(kinds("OrderChange")).toEqual(["ALLOCATED", "BACKORDER_FILLED", "CANCELLED", "DELAYED", "EXPIRED", "PLACED", "SHIPPED"]);
  });

  it("has the Node interface with an ID, implemented by every type that section 7 names", () => {
    const node = named("Node");
    expect(isInterfaceType(node)).toBe(true);
    expect(fieldTypes("Node", ["id"])).toEqual({ id: "ID!" });
    const implementing = Object.fromEntries(
      NODE_TYPES.map((name) => {
        const type = named(name);
        return [name, isObjectType(type) ? type.getInterfaces().map((each) => each.name) : []];
      }),
    );
    expect(implementing).toEqual(Object.fromEntries(NODE_TYPES.map((name) => [name, ["Node"]])));
    expect(
      schema
        .getPossibleTypes(node as never)
        .map((type) => type.name)
        .sort(),
    ).toEqual(expect.arrayContaining([...NODE_TYPES].sort()));
  });

  it("has the DateTime and Decimal scalars and the Money type", () => {
    expect([isScalarType(named("DateTime")), isScalarType(named("Decimal"))]).toEqual([true, true]);
    expect(fieldTypes("Money", ["amount", "currencyCode"])).toEqual({ amount: "Decimal!", currencyCode: "String!" });
  });

  it("gives each object type its fixed fields and nullability", () => {
    const contract: Record<string, Record<string, string>> = {
      Location: { id: "ID!", code: "String!", name: "String!", priority: "Int!" },
      StockSummary: {
        onHand: "Int!",
        allocated: "Int!",
        available: "Int!",
        backordered: "Int!",
        incoming: "Int!",
        projected: "Int!",
        nextRestockAt: "DateTime",
      },
      StockLevel: { location: "Location!", onHand: "Int!", allocated: "Int!", available: "Int!", safetyStock: "Int!" },
      Product: {
        id: "ID!",
        sku: "String!",
        name: "String!",
        price: "Money!",
        backorderPolicy: "BackorderPolicy!",
        backorderLimit: "Int",
        minOrderQuantity: "Int!",
        maxOrderQuantity: "Int",
        leadTimeDays: "Int",
        stock: "StockSummary!",
        stockLevels: "[StockLevel!]!",
        backlog: "BackorderConnection!",
        restocks: "RestockConnection!",
      },
      Order: {
        id: "ID!",
        number: "String!",
        customer: "String!",
        status: "OrderStatus!",
        lines: "[OrderLine!]!",
        total: "Money!",
        createdAt: "DateTime!",
        promisedAt: "DateTime",
        expectedAt: "DateTime",
        delayed: "Boolean!",
      },
      OrderLine: {
        id: "ID!",
        order: "Order!",
        product: "Product!",
        quantity: "Int!",
        unitPrice: "Money!",
        allocated: "Int!",
        backordered: "Int!",
        shipped: "Int!",
        cancelled: "Int!",
        backorder: "Backorder",
      },
      Backorder: {
        id: "ID!",
        product: "Product!",
        order: "Order!",
        orderLine: "OrderLine!",
        quantity: "Int!",
        remaining: "Int!",
        status: "BackorderStatus!",
        priority: "Int!",
        position: "Int",
        unitsAhead: "Int",
        expectedAt: "DateTime",
        etaSource: "EtaSource!",
        promisedAt: "DateTime",
        delayed: "Boolean!",
        createdAt: "DateTime!",
        filledAt: "DateTime",
      },
      Restock: {
        id: "ID!",
        product: "Product!",
        location: "Location!",
        quantity: "Int!",
        receivedQuantity: "Int!",
        expectedAt: "DateTime!",
        status: "RestockStatus!",
        reference: "String",
        receivedAt: "DateTime",
      },
      UserError: { field: "[String!]", code: "ErrorCode!", message: "String!" },
    };
    const actual = Object.fromEntries(Object.entries(contract).map(([type, fields]) => [type, fieldTypes(type, Object.keys(fields))]));
    expect(actual).toEqual(contract);
  });

  it("takes paging arguments on a product's backlog and restocks", () => {
    expectSignatures("Product", {
      backlog: sig("BackorderConnection!", { first: "Int", after: "String" }),
      restocks: sig("RestockConnection!", { status: "RestockStatus", first: "Int", after: "String" }),
    });
  });

  it("shapes every connection as edges { cursor node }, nodes, pageInfo and totalCount", () => {
    for (const node of ["Product", "Order", "Backorder", "Restock"]) {
      const connection = `${node}Connection`;
      const fields = fieldTypes(connection, ["edges", "nodes", "pageInfo", "totalCount"]);
      expect(fields, connection).toEqual({ edges: expect.stringMatching(/^\[\w+!\]!$/), nodes: `[${node}!]!`, pageInfo: "PageInfo!", totalCount: "Int!" });
      const edge = fields.edges!.replace(/[[\]!]/g, "");
      expect(fieldTypes(edge, ["cursor", "node"]), edge).toEqual({ cursor: "String!", node: `${node}!` });
    }
    expect(fieldTypes("PageInfo", ["hasNextPage", "endCursor"])).toEqual({ hasNextPage: "Boolean!", endCursor: "String" });
  });

  it("gives every mutation payload its object, nullable, and userErrors", () => {
    const payloads: Record<string, [string, string]> = {
      LocationPayload: ["location", "Location"],
      ProductPayload: ["product", "Product"],
      StockLevelPayload: ["stockLevel", "StockLevel"],
      OrderPayload: ["order", "Order"],
      RestockPayload: ["restock", "Restock"],
      ReceiveRestockPayload: ["restock", "Restock"],
      BackorderPayload: ["backorder", "Backorder"],
    };
    for (const [payload, [field, type]] of Object.entries(payloads)) {
      expect(fieldTypes(payload, [field, "userErrors"]), payload).toEqual({ [field]: type, userErrors: "[UserError!]!" });
    }
    expect(fieldTypes("ReceiveRestockPayload", ["filledBackorders", "fills"])).toEqual({ filledBackorders: "[Backorder!]!", fills: "[RestockFill!]!" });
    expect(fieldTypes("RestockFill", ["backorder", "filledUnits"])).toEqual({ backorder: "Backorder!", filledUnits: "Int!" });
  });

  it("has the filter inputs with their fixed fields", () => {
    expect({
      ProductFilter: fieldTypes("ProductFilter", ["skus", "search", "hasBacklog", "backorderPolicy"]),
      OrderFilter: fieldTypes("OrderFilter", ["status", "customer", "delayed", "productId"]),
      BacklogFilter: fieldTypes("BacklogFilter", ["productId", "delayed", "olderThanHours"]),
      RestockFilter: fieldTypes("RestockFilter", ["productId", "status"]),
    }).toEqual({
      ProductFilter: { skus: "[String!]", search: "String", hasBacklog: "Boolean", backorderPolicy: "BackorderPolicy" },
      OrderFilter: { status: "[OrderStatus!]", customer: "String", delayed: "Boolean", productId: "ID" },
      BacklogFilter: { productId: "ID", delayed: "Boolean", olderThanHours: "Int" },
      RestockFilter: { productId: "ID", status: "RestockStatus" },
    });
  });

  it("has the mutation inputs with their fixed fields, optional location ids and defaults", () => {
    expect({
      CreateLocationInput: fieldTypes("CreateLocationInput", ["code", "name", "priority"]),
      CreateProductInput: fieldTypes("CreateProductInput", [
        "sku",
        "name",
        "price",
        "backorderPolicy",
        "backorderLimit",
        "minOrderQuantity",
        "maxOrderQuantity",
        "leadTimeDays",
        "initialStock",
      ]),
      AdjustStockInput: fieldTypes("AdjustStockInput", ["productId", "locationId", "delta", "reason"]),
      ScheduleRestockInput: fieldTypes("ScheduleRestockInput", ["productId", "locationId", "quantity", "expectedAt", "reference"]),
      PlaceOrderInput: fieldTypes("PlaceOrderInput", ["customer", "allowPartial", "idempotencyKey"]),
    }).toEqual({
      CreateLocationInput: { code: "String!", name: "String!", priority: expect.stringMatching(/^Int!?$/) },
      CreateProductInput: {
        sku: "String!",
        name: "String!",
        price: "Decimal!",
        backorderPolicy: expect.stringMatching(/^BackorderPolicy!?$/),
        backorderLimit: "Int",
        minOrderQuantity: expect.stringMatching(/^Int!?$/),
        maxOrderQuantity: "Int",
        leadTimeDays: "Int",
        initialStock: expect.stringMatching(/^Int!?$/),
      },
      AdjustStockInput: { productId: "ID!", locationId: "ID", delta: "Int!", reason: "String!" },
      ScheduleRestockInput: { productId: "ID!", locationId: "ID", quantity: "Int!", expectedAt: "DateTime!", reference: "String" },
      PlaceOrderInput: { customer: "String!", allowPartial: expect.stringMatching(/^Boolean!?$/), idempotencyKey: "String" },
    });
    const create = named("CreateProductInput");
    if (!isInputObjectType(create)) throw new Error("CreateProductInput is not an input");
    const defaults = Object.fromEntries(
      ["backorderPolicy", "minOrderQuantity", "initialStock"].map((field) => [field, create.getFields()[field].defaultValue]),
    );
    expect(defaults).toEqual({ backorderPolicy: "DENY", minOrderQuantity: 1, initialStock: 0 });
    const place = named("PlaceOrderInput");
    if (!isInputObjectType(place)) throw new Error("PlaceOrderInput is not an input");
    expect(place.getFields().allowPartial.defaultValue).toBe(true);
  });

  it("names an order line's product by productId or sku, with a quantity", () => {
    const lines = fieldTypes("PlaceOrderInput", ["lines"]).lines;
    expect(lines).toMatch(/^\[\w+!\]!$/);
    const lineType = lines!.replace(/[[\]!]/g, "");
    expect(fieldTypes(lineType, ["productId", "sku", "quantity"])).toEqual({ productId: "ID", sku: "String", quantity: "Int!" });
  });

  it("lets updateProduct change each catalogue field, all optional", () => {
    const fields = ["sku", "name", "price", "backorderPolicy", "backorderLimit", "minOrderQuantity", "maxOrderQuantity", "leadTimeDays"];
    const types = fieldTypes("UpdateProductInput", fields);
    expect(Object.entries(types).filter(([, type]) => type === undefined || type.endsWith("!"))).toEqual([]);
  });
});
