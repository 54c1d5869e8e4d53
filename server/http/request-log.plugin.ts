/**
 * An Apollo plugin that writes one log line per GraphQL request (request id, operation,
 * duration, error count) and, for every error that will be masked, the error in full. With
 * `metrics`, it also observes the request's duration by operation name, type and outcome (the
 * first error's code as the client gets it, or "ok"): it reads the response as the plugins before
 * it left it, so it comes after the query limits plugin (server/http/app.ts).
 */
import type { ApolloServerPlugin } from "@apollo/server";
import type { Context } from "../graphql/context.js";
import { isDatabaseUnavailable } from "../graphql/database-unavailable.js";
import { isExposedError } from "../graphql/error-masking.js";
import { type Logger, serializeError } from "../logger.js";
import { type Metrics, outcomeLabel } from "../metrics.js";

export function requestLogPlugin(logger: Logger, metrics?: Metrics): ApolloServerPlugin<Context> {
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
        async willSendResponse({ operation, operationName, errors, response }) {
          if (metrics) {
            const result = response.body.kind === "single" ? response.body.singleResult : response.body.initialResult;
            const sent = result.errors ?? [];
            const outcome = sent.length === 0 ? "ok" : outcomeLabel(sent[0].extensions?.code ?? "ERROR");
            const seconds = (performance.now() - started) / 1000;
            metrics.observeRequest(operation ? { name: operation.name?.value, type: operation.operation } : undefined, outcome, seconds);
          }
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
