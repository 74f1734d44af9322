#!/usr/bin/env bash
# Benchmarks the gradient all-reduce alone on loopback and writes bench/allreduce/results-<date>[-N].md.
# Usage: bench/allreduce/run.sh [AllReduceBench flags], e.g. --ranks 2,4 --max-mb 398 --iters 5 --chunk-kib 4096
# Memory: ranks x the largest size of direct buffers (4 x 398 MB = 1.6 GB at the defaults).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Never overwrites an earlier result: a second run on the same day gets -2, -3, ...
out="$root/bench/allreduce/results-$(date +%F).md"
i=2
while [[ -e "$out" ]]; do
  out="$root/bench/allreduce/results-$(date +%F)-$((i++)).md"
done

cd "$root"
mvn -B -q -Dstyle.color=never -pl worker-runtime -DskipTests compile dependency:build-classpath \
  -Dmdep.outputFile="$root/worker-runtime/target/runtime.classpath" -Dmdep.includeScope=runtime
cp="worker-runtime/target/classes:$(cat worker-runtime/target/runtime.classpath)"

# log4j-api's simple logger (errors only) stands in for the driver's log4j2 configuration.
java -Xmx1g -XX:MaxDirectMemorySize=6g \
  -Dlog4j2.loggerContextFactory=org.apache.logging.log4j.simple.SimpleLoggerContextFactory \
  -cp "$cp" io.hicmae.runtime.allreduce.AllReduceBench "$@" | tee "$out"
echo "wrote $out" >&2
