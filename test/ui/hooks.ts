// One workbench for the whole UI suite: PostgreSQL, Azurite, the packaged extension in code-server, Chromium.
import { stopAzurite } from '../helpers/azure';
import { stopPostgres } from '../helpers/postgres';
import { closeWorkbench } from './workbench';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await closeWorkbench();
    await Promise.allSettled([stopPostgres(), stopAzurite()]);
  },
};
