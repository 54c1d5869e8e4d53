/** The error model of mutations (docs/ARCHITECTURE.md, "The GraphQL contract"): `userErrors` entries with a code. */
import "reflect-metadata";
import { Field, ObjectType, registerEnumType } from "type-graphql";

import { enumOf, ERROR_CODES, type ErrorCode as ErrorCodeValue } from "../drizzle/contract.js";

/** Why a mutation said no. The names are fixed by the contract. */
export const ErrorCode = enumOf(ERROR_CODES);
export type ErrorCode = ErrorCodeValue;

registerEnumType(ErrorCode, { name: "ErrorCode", description: "Why a mutation refused (part of) its input." });

@ObjectType({ description: "A refusal of a business rule or a bad input value: nothing was changed for it." })
export class UserError {
  @Field(() => [String], { nullable: true, description: 'Path to the input field it is about, e.g. ["input", "lines", "0", "quantity"].' })
  field?: string[] | null;

  @Field(() => ErrorCode)
  code!: ErrorCode;

  @Field(() => String)
  message!: string;
}
