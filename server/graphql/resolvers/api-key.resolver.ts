/** API keys (ADMIN only): the list, createApiKey (the one time a secret is shown) and revokeApiKey. */
import "reflect-metadata";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { CreateApiKeyInput } from "../../../schema/api-key.input.js";
import { ApiKey, ApiKeyConnection } from "../../../schema/api-key.type.js";
import type { ConnectionSource } from "../../../schema/connection.js";
import { ApiKeyPayload, CreateApiKeyPayload } from "../../../schema/payloads.js";
import { MANAGE_KEYS } from "../auth-checker.js";
import type { Context } from "../context.js";
import { toGlobalId } from "../node-id.js";
import { createApiKey, listApiKeys, revokeApiKey } from "../../services/api-key.service.js";
import type { ApiKeyRecord } from "../../services/types.js";
import { checkFirst, readOrBadInput, toConnection } from "./connection.js";
import { mutate, requireNodeId } from "./payload.js";

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @FieldResolver(() => ID)
  id(@Root() apiKey: ApiKeyRecord): string {
    return toGlobalId("ApiKey", apiKey.id);
  }

  @Authorized(...MANAGE_KEYS)
  @Query(() => ApiKeyConnection, { description: "Every API key, revoked ones too, oldest first. Secrets are never shown again." })
  async apiKeys(
    @Ctx() context: Context,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionSource<ApiKeyRecord>> {
    checkFirst(first);
    return toConnection(await readOrBadInput(() => listApiKeys(context.db, { first, after })));
  }

  @Authorized(...MANAGE_KEYS)
  @Mutation(() => CreateApiKeyPayload, { description: "Creates a key. Its secret is in this answer and nowhere else, ever." })
  createApiKey(@Arg("input", () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() context: Context) {
    return mutate(context, { apiKey: null as ApiKeyRecord | null, secret: null as string | null }, async () => {
      const supplierId =
        input.supplierId === undefined || input.supplierId === null ? null : requireNodeId(input.supplierId, "Supplier", ["input", "supplierId"]);
      const created = await createApiKey(context.db, { name: input.name, role: input.role, supplierId });
      context.logger.info("api key created", { createdApiKeyId: created.apiKey.id, role: created.apiKey.role, prefix: created.apiKey.prefix });
      return created;
    });
  }

  @Authorized(...MANAGE_KEYS)
  @Mutation(() => ApiKeyPayload, { description: "Revokes a key at once: its requests are refused and its open subscriptions closed, on every instance." })
  revokeApiKey(@Arg("id", () => ID) id: string, @Ctx() context: Context) {
    return mutate(context, { apiKey: null as ApiKeyRecord | null }, async () => {
      const apiKey = await revokeApiKey(context.db, requireNodeId(id, "ApiKey", ["id"]));
      // This instance forgets the key before answering; the others hear the revocation's event.
      context.onApiKeyRevoked?.(apiKey.id);
      context.logger.info("api key revoked", { revokedApiKeyId: apiKey.id, prefix: apiKey.prefix });
      return { apiKey };
    });
  }
}
