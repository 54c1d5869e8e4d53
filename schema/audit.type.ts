/**
 * The invariant audit as the API answers it (`auditReport`, ADMIN only): what `npm run audit`
 * prints, as data. The ids of a violation are `name=id` strings rather than objects so that the
 * answer stays a flat list under the query-cost rules (docs/ARCHITECTURE.md, "Access and limits").
 */
import "reflect-metadata";
import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "One broken invariant: which, what is wrong, and the rows involved." })
export class AuditViolation {
  @Field(() => String, { description: "The invariant's name, e.g. stock.allocated-within-on-hand." })
  invariant!: string;

  @Field(() => String)
  message!: string;

  @Field(() => [String], { description: "The rows involved, as name=id (e.g. orderId=12), in the order the check names them." })
  ids!: string[];
}

@ObjectType({ description: "The invariant audit of the whole database, read from one snapshot." })
export class AuditReport {
  @Field(() => Boolean, { description: "True when no invariant is broken." })
  ok!: boolean;

  @Field(() => [String], { description: "The invariants checked, in the order they were checked." })
  invariants!: string[];

  @Field(() => Int, { description: "How many violations were found, in all." })
  violationCount!: number;

  @Field(() => [AuditViolation], { description: "The first violations found (at most 100), in the order of `invariants`." })
  violations!: AuditViolation[];
}
