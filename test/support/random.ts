/**
 * A small seeded random generator (mulberry32), so a failing randomized run can be replayed from
 * its seed: the one `npm run simulate` draws its month with (server/cli/simulation-scenario.ts).
 */
export { seededRandom } from "../../server/cli/simulation-scenario.js";
