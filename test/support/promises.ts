/** Promise helpers shared by the tests. */
import { expect } from 'chai';

/** Resolves to the rejection reason; fails the test if `promise` resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(Error);
    return error as Error;
  }
  expect.fail('expected the promise to reject');
}
