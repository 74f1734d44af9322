#!/usr/bin/env bash
# Linear probe of the generated clips' speaker on a briefly pre-trained vs a randomly initialised backbone; writes
# bench/linear-probe/results-<date>.md. Usage: bench/linear-probe/run.sh [LinearProbeBench flags], e.g.
# --preset tiny --speakers 8 --pretrain-steps 200 --probe-steps 200 --seed 1
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$root/bench/linear-probe/results-$(date +%F).md"

cd "$root"
mvn -B -q -Dstyle.color=never -pl worker-runtime -DskipTests compile dependency:build-classpath \
  -Dmdep.outputFile="$root/worker-runtime/target/runtime.classpath" -Dmdep.includeScope=runtime
cp="worker-runtime/target/classes:$(cat worker-runtime/target/runtime.classpath)"

# log4j-api's simple logger (errors only) stands in for the driver's log4j2 configuration.
java -Xmx2g -Dai.djl.offline=true \
  -Dlog4j2.loggerContextFactory=org.apache.logging.log4j.simple.SimpleLoggerContextFactory \
  -cp "$cp" io.hicmae.runtime.finetune.LinearProbeBench "$@" | tee "$out"
echo "wrote $out" >&2
