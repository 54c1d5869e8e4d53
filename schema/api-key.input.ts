/** The input of createApiKey. */
import "reflect-metadata";
import { Field, ID, InputType } from "type-graphql";
import { Role } from "./api-key.type.js";

@InputType()
export class CreateApiKeyInput {
  @Field(() => String, { description: "Who or what the key is for, e.g. a partner's name; at most 200 characters." })
  name!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => ID, { nullable: true, description: "The supplier a SUPPLIER key acts for: required with SUPPLIER, refused with any other role." })
  supplierId?: string | null;
}
