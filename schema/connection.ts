/**
 * Cursor connections (the Relay shape): `edges { cursor node }`, `nodes`, `pageInfo` and
 * `totalCount`, built once for every node type.
 */
import "reflect-metadata";
import { type ClassType, Field, Int, ObjectType } from "type-graphql";

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: "Pass as `after` to get the next page." })
  endCursor!: string | null;
}

/** What a connection resolver returns; `totalCount` may be a function, run only when asked for. */
export interface ConnectionSource<TNode> {
  edges: { cursor: string; node: TNode }[];
  nodes: TNode[];
  pageInfo: PageInfo;
  totalCount: number | (() => Promise<number>);
}

/**
 * Builds the `<name>Edge` and `<name>Connection` object types of a node type. The connection's
 * fields use graphql-js's default resolver, which calls a function-valued `totalCount`.
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

    @Field(() => Int, { description: "Items matching the filter, all pages together." })
    totalCount!: number;
  }

  return Connection;
}
