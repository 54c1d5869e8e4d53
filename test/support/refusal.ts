/** The DomainError a service call is refused with; fails the test when it is not refused, or refused otherwise. */
import { expect } from "vitest";
import { DomainError } from "../../drizzle/contract.js";

export async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}
