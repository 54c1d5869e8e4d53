/** A stock location (warehouse, store): units are allocated from locations in ascending priority. */
import "reflect-metadata";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { Node } from "./node.js";

@ObjectType({ implements: Node, description: "A place where stock is kept." })
export class Location implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { description: "Allocation order: lower first; the lowest is the default location." })
  priority!: number;
}
