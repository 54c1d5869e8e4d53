/** Global ids in mutations over real HTTP. */
import { describe, expect, it } from "vitest";
import { toGlobalId } from "../../server/graphql/node-id.js";
import { daysFromNow, uniqueSku } from "../support/catalogue.js";
import { useFreshDatabase } from "../support/database.js";
import { useTestServer } from "../support/http.js";
import { mutationClient } from "../support/mutations.js";

const database = useFreshDatabase();
const server = useTestServer(database);
const { data } = server;
const { createProduct, placeOne, scheduleRestock } = mutationClient(database, server);

describe("global ids", () => {
  it("resolves an id of every type through Query.node, and orders and products by number and SKU", async () => {
    const product = await createProduct({ initialStock: 1 });
    const restock = await scheduleRestock(product.id, 3, daysFromNow(2));
    const { order } = await placeOne(product.id, 2);
    const { locations } = await data(`{ locations { id code } }`);
    const line = order.lines[0];
    const ids = {
      Location: locations[0].id,
      Product: product.id,
      Order: order.id,
      OrderLine: line.id,
      Backorder: line.backorder.id,
      Restock: restock.id,
    };
    const result = await data(
      `query($location: ID!, $product: ID!, $order: ID!, $line: ID!, $backorder: ID!, $restock: ID!, $sku: String!, $number: String!) {
        location: node(id: $location) { __typename id ... on Location { code } }
        product: node(id: $product) { __typename id ... on Product { sku } }
        order: node(id: $order) { __typename id ... on Order { number } }
        line: node(id: $line) { __typename id ... on OrderLine { quantity order { id } } }
        backorder: node(id: $backorder) { __typename id ... on Backorder { remaining orderLine { id } } }
        restock: node(id: $restock) { __typename id ... on Restock { quantity } }
        bySku: product(sku: $sku) { id }
        byNumber: order(number: $number) { id }
      }`,
      {
        location: ids.Location,
        product: ids.Product,
        order: ids.Order,
        line: ids.OrderLine,
        backorder: ids.Backorder,
        restock: ids.Restock,
        sku: product.sku,
        number: order.number,
      },
    );
    expect(result).toEqual({
      location: { __typename: "Location", id: ids.Location, code: locations[0].code },
      product: { __typename: "Product", id: ids.Product, sku: product.sku },
      order: { __typename: "Order", id: ids.Order, number: order.number },
      line: { __typename: "OrderLine", id: ids.OrderLine, quantity: 2, order: { id: ids.Order } },
      backorder: { __typename: "Backorder", id: ids.Backorder, remaining: 1, orderLine: { id: ids.OrderLine } },
      restock: { __typename: "Restock", id: ids.Restock, quantity: 3 },
      bySku: { id: ids.Product },
      byNumber: { id: ids.Order },
    });
  });

  it("returns null for an unknown id of every type, and for an unknown SKU and order number", async () => {
    const types = ["Location", "Product", "Order", "OrderLine", "Backorder", "Restock"] as const;
    const fields = types.map((type) => `${type}: node(id: "${toGlobalId(type, 2_000_000_000)}") { id }`).join("\n");
    const result = await data(`{ ${fields}
      malformed: node(id: "xyz") { id }
      empty: node(id: "") { id }
      sku: product(sku: "${uniqueSku("NONE")}") { id }
      number: order(number: "NO-SUCH-ORDER") { id }
      wrongType: order(id: "${toGlobalId("Product", 1)}") { id } }`);
    expect(Object.values(result).every((value) => value === null)).toBe(true);
    expect(Object.keys(result)).toHaveLength(types.length + 5);
  });
});
