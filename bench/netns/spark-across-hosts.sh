#!/usr/bin/env bash
# Spark across emulated hosts with a cut link, for a person to run: the integration test NetnsSparkIT (standalone
# Master and driver in the root namespace on their own veth, two Workers and their executors each in a network
# namespace, links shaped with tbf; tiny-preset pre-training on 2 ranks; host 1's link pulled for 2 s, then 14 s with
# io-timeout-s 6: the first is survived, the second fails the attempt naming the silent peer and the run resumes).
# Needs root, ip and tc (the test skips otherwise, saying why) and Maven with the dependencies downloaded.
# Logs: integration-tests/target/it-logs/NetnsSparkIT/ (master.log, worker-N.log, submit-*.log, executor logs).
# Usage: bench/netns/spark-across-hosts.sh [extra mvn flags]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
export PYTORCH_VERSION=${PYTORCH_VERSION:-2.7.1}
mvn -B -Dstyle.color=never -pl worker-runtime,driver,integration-tests -am verify -Dtest=NoSuchTest \
  -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=NetnsSparkIT -Dit.failIfNoSpecifiedTests=false "$@"
grep -h "NetnsSparkIT:" integration-tests/target/failsafe-reports/*NetnsSparkIT*-output.txt 2>/dev/null || true
