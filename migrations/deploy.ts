// `anchor migrate` entry point (Anchor runs it through ts-node when the workspace has a root
// tsconfig.json and @anchor-lang/core; see README.md). The real work is the Rust CLI's
// idempotent `allot migrate` (deploy.sh), so pools are created by the same code the tests run.
import { execFileSync } from "child_process";
import * as path from "path";

/** What this script reads of Anchor's provider: the cluster it was asked to migrate. */
interface MigrationProvider {
  connection: { rpcEndpoint: string };
}

module.exports = async function (provider: MigrationProvider) {
  execFileSync(path.join(__dirname, "deploy.sh"), {
    stdio: "inherit",
    // The provider's cluster, not deploy.sh's localhost default; Anchor sets ANCHOR_WALLET.
    env: { ...process.env, ANCHOR_PROVIDER_URL: provider.connection.rpcEndpoint },
  });
};
