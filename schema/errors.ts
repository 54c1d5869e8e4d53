/** The error model of mutations (DESIGN.md section 7): `userErrors` entries with a code. */
import "reflect-metadata";
import { Field, ObjectType, registerEnumType } from "type-graphql";

/** Why a mutation said no. The names are fixed by the contract. */
export enum ErrorCode {
  NOT_FOUND = "NOT_FOUND",
  INVALID_INPUT = "INVALID_INPUT",
  OUT_OF_STOCK = "OUT_OF_STOCK",
  BACKORDER_LIMIT_EXCEEDED = "BACKORDER_LIMIT_EXCEEDED",
  BELOW_MIN_ORDER_QUANTITY = "BELOW_MIN_ORDER_QUANTITY",
  ABOVE_MAX_ORDER_QUANTITY = "ABOVE_MAX_ORDER_QUANTITY",
  INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK",
  INVALID_STATE = "INVALID_STATE",
  IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED",
  DUPLICATE = "DUPLICATE",
}

registerEnumType(ErrorCode, { name: "ErrorCode", description: "Why a mutation refused (part of) its input." });

@ObjectType({ description: "A refusal of a business rule or a bad input value: nothing was changed for it." })
export class UserError {
  @Field(() => [String], { nullable: true, description: "Path to the input field it is about, e.g. [\"input\", \"lines\", \"0\", \"quantity\"]." })
  field?: string[] | null;

  @Field(() => ErrorCode)
  code!: ErrorCode;

  @Field(() => String)
  message!: string;
}
