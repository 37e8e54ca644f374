// `anchor migrate` entry point: the real work is the Rust CLI's idempotent `allot migrate`
// (see deploy.sh), so pools are created by the same code that the tests exercise.
import { execFileSync } from "child_process";
import * as path from "path";

module.exports = async function (_provider: unknown) {
  execFileSync(path.join(__dirname, "deploy.sh"), { stdio: "inherit" });
};
