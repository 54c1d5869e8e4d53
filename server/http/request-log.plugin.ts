/**
 * An Apollo plugin that writes one log line per GraphQL request (request id, operation,
 * duration, error count) and, for every error that will be masked, the error in full.
 */
import type { ApolloServerPlugin } from "@apollo/server";
import type { Context } from "../graphql/context.js";
import { isDatabaseUnavailable } from "../graphql/database-unavailable.js";
import { isExposedError } from "../graphql/error-masking.js";
import { type Logger, serializeError } from "../logger.js";

export function requestLogPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
      return {
        async didEncounterErrors({ errors, operationName }) {
          for (const error of errors) {
            if (isExposedError(error.extensions)) continue;
            if (isDatabaseUnavailable(error)) {
              // Not a bug: the client is told SERVICE_UNAVAILABLE and retries.
              logger.warn("database unavailable", {
                requestId: contextValue.requestId,
                operationName: operationName ?? null,
                error: serializeError(error.originalError ?? error),
              });
              continue;
            }
            logger.error("unexpected error", {
              requestId: contextValue.requestId,
              operationName: operationName ?? null,
              durationMs: elapsed(),
              path: error.path?.join("."),
              error: serializeError(error.originalError ?? error),
            });
          }
        },
        async willSendResponse({ operationName, errors }) {
          logger.info("graphql request", {
            requestId: contextValue.requestId,
            // The key's id, never its secret.
            apiKeyId: contextValue.apiKey?.id ?? null,
            operationName: operationName ?? null,
            durationMs: elapsed(),
            errors: errors?.length ?? 0,
          });
        },
      };
    },
  };
}
