#!/usr/bin/env bash
# Linear probes of labels the clip generator knows (speaker, syllable rate) on a briefly pre-trained vs a randomly
# initialised backbone; writes bench/linear-probe/results-<date>.md, or results-<date>-<n>.md when that exists (old
# results are kept). Usage: bench/linear-probe/run.sh [LinearProbeBench flags], e.g.
# --variation nuisance --pretrain-steps 6000 --seeds 1,2,3 (the run behind results-2026-11-25-3.md; see the class
# Javadoc for every flag and its default)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$root/bench/linear-probe/results-$(date +%F).md"
n=2
while [[ -e "$out" ]]; do
  out="$root/bench/linear-probe/results-$(date +%F)-$n.md"
  n=$((n + 1))
done

cd "$root"
mvn -B -q -Dstyle.color=never -pl worker-runtime -DskipTests compile dependency:build-classpath \
  -Dmdep.outputFile="$root/worker-runtime/target/runtime.classpath" -Dmdep.includeScope=runtime
cp="worker-runtime/target/classes:$(cat worker-runtime/target/runtime.classpath)"

# One intra-op thread unless told otherwise: the tiny model's matrices are small, and on shared cores idle OpenMP
# workers spin and take CPU from the thread doing the work.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# log4j-api's simple logger (errors only) stands in for the driver's log4j2 configuration.
java -Xmx2g -Dai.djl.offline=true \
  -Dlog4j2.loggerContextFactory=org.apache.logging.log4j.simple.SimpleLoggerContextFactory \
  -cp "$cp" io.hicmae.runtime.finetune.LinearProbeBench "$@" | tee "$out"
echo "wrote $out" >&2
