import { stopAzurite } from './helpers/azure';
import { stopPostgres } from './helpers/postgres';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await Promise.all([stopPostgres(), stopAzurite()]);
  },
};
