import { stopAzurite } from './helpers/azure';
import { stopPostgres } from './helpers/postgres';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    // Shutting down PostgreSQL (a checkpoint) and removing its data takes a while after the big tests, more on a busy machine.
    this.timeout(120_000);
    await Promise.all([stopPostgres(), stopAzurite()]);
  },
};
