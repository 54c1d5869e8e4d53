/**
 * Cursor connections (the Relay shape): `edges { cursor node }`, `nodes`, `pageInfo`,
 * `totalCount` and `totalCountPrecision`, built once for every node type.
 */
import "reflect-metadata";
import { type ClassType, Field, Int, ObjectType, registerEnumType } from "type-graphql";
import { COUNT_PRECISIONS, type CountPrecision as CountPrecisionValue, enumOf } from "../drizzle/contract.js";

/** How far `totalCount` goes (docs/ARCHITECTURE.md, "Counting"): a value and a type, from the contract's list. */
export const CountPrecision = enumOf(COUNT_PRECISIONS);
export type CountPrecision = CountPrecisionValue;

registerEnumType(CountPrecision, {
  name: "CountPrecision",
  description: "Whether a connection's totalCount is the number of matches or a lower bound.",
  valuesConfig: {
    EXACT: { description: "totalCount is the number of matches." },
    AT_LEAST: { description: "There are at least totalCount matches: counting stopped at the bound." },
  },
});

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: "Pass as `after` to get the next page." })
  endCursor!: string | null;
}

/**
 * What a connection resolver returns. `totalCount` and `totalCountPrecision` may be functions, run
 * only when asked for; both are answered by one count.
 */
export interface ConnectionSource<TNode> {
  edges: { cursor: string; node: TNode }[];
  nodes: TNode[];
  pageInfo: PageInfo;
  totalCount: number | (() => Promise<number>);
  totalCountPrecision: CountPrecision | (() => Promise<CountPrecision>);
}

/**
 * Builds the `<name>Edge` and `<name>Connection` object types of a node type. The connection's
 * fields use graphql-js's default resolver, which calls a function-valued `totalCount` or
 * `totalCountPrecision`.
 */
export function connectionOf<TNode extends object>(nodeType: ClassType<TNode>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => nodeType)
    node!: TNode;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true })
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => [nodeType])
    nodes!: TNode[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, {
      description:
        "Items matching the filter, all pages together; when totalCountPrecision is AT_LEAST, the matches counted before counting stopped (a lower bound).",
    })
    totalCount!: number;

    @Field(() => CountPrecision, { description: "EXACT, or AT_LEAST when there are more matches than totalCount says." })
    totalCountPrecision!: CountPrecision;
  }

  return Connection;
}
