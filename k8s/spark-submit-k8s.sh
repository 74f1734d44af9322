#!/usr/bin/env bash
# Runs a hicmae job on Kubernetes without the Spark operator: spark-submit in cluster mode, with the image, service
# account, S3 Secret and sizes of k8s/overlays (dev-cpu by default, prod-gpu with --gpu).
#
#   k8s/spark-submit-k8s.sh [--gpu] -- pretrain --data s3a://hicmae/clips --zoo s3a://hicmae/zoo --run-id r1 ...
#
# Environment: K8S_API (required, e.g. https://kube-api:6443), NAMESPACE (hicmae-dev, or hicmae-prod with --gpu),
# IMAGE (the matching image of docker/), EXECUTORS (2, or 4 with --gpu), SPARK_HOME (a Spark 4.1 distribution).
# Pass --run-id yourself: resubmitting with the same id resumes from its last checkpoint.
set -euo pipefail

gpu=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --gpu) gpu=true; shift ;;
    --) shift; break ;;
    *) echo "spark-submit-k8s: unknown option $1 (application arguments go after --)" >&2; exit 2 ;;
  esac
done
if [[ $# -eq 0 ]]; then
  echo "spark-submit-k8s: no application arguments; e.g. -- pretrain --data URI --zoo URI --run-id ID" >&2
  exit 2
fi
: "${K8S_API:?set K8S_API to the Kubernetes API server, e.g. https://kube-api:6443}"
: "${SPARK_HOME:?set SPARK_HOME to a Spark 4.1 distribution}"

if [[ "$gpu" == true ]]; then
  namespace=${NAMESPACE:-hicmae-prod}
  image=${IMAGE:-registry.example.com/hicmae/hicmae-cuda:0.1.0}
  executors=${EXECUTORS:-4}
  cores=8 memory=32g overhead=16g
  gpu_conf=(
    --conf spark.executor.resource.gpu.amount=1
    --conf spark.executor.resource.gpu.vendor=nvidia.com
    --conf spark.executor.resource.gpu.discoveryScript=/opt/hicmae/gpu-discovery.sh
    --conf spark.task.resource.gpu.amount=1
  )
else
  namespace=${NAMESPACE:-hicmae-dev}
  image=${IMAGE:-registry.example.com/hicmae/hicmae-cpu:0.1.0}
  executors=${EXECUTORS:-2}
  cores=2 memory=4g overhead=4g
  gpu_conf=()
fi

exec "$SPARK_HOME/bin/spark-submit" \
  --master "k8s://$K8S_API" \
  --deploy-mode cluster \
  --name hicmae \
  --class io.hicmae.driver.HicmaeCli \
  --conf spark.kubernetes.namespace="$namespace" \
  --conf spark.kubernetes.container.image="$image" \
  --conf spark.kubernetes.authenticate.driver.serviceAccountName=hicmae-spark \
  --conf spark.kubernetes.driver.request.cores=1 \
  --conf spark.kubernetes.driver.limit.cores=1 \
  --conf spark.driver.memory=2g \
  --conf spark.driver.memoryOverhead=512m \
  --conf spark.executor.instances="$executors" \
  --conf spark.decommission.enabled=true \
  --conf spark.executor.cores="$cores" \
  --conf spark.kubernetes.executor.request.cores="$cores" \
  --conf spark.kubernetes.executor.limit.cores="$cores" \
  --conf spark.executor.memory="$memory" \
  --conf spark.executor.memoryOverhead="$overhead" \
  --conf spark.task.cpus="$cores" \
  --conf spark.dynamicAllocation.enabled=false \
  --conf spark.kubernetes.driver.secretKeyRef.AWS_ACCESS_KEY_ID=hicmae-s3:AWS_ACCESS_KEY_ID \
  --conf spark.kubernetes.driver.secretKeyRef.AWS_SECRET_ACCESS_KEY=hicmae-s3:AWS_SECRET_ACCESS_KEY \
  --conf spark.kubernetes.executor.secretKeyRef.AWS_ACCESS_KEY_ID=hicmae-s3:AWS_ACCESS_KEY_ID \
  --conf spark.kubernetes.executor.secretKeyRef.AWS_SECRET_ACCESS_KEY=hicmae-s3:AWS_SECRET_ACCESS_KEY \
  --conf spark.hadoop.fs.s3a.aws.credentials.provider=software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider \
  "${gpu_conf[@]}" \
  local:///opt/hicmae/hicmae-app.jar \
  "$@"
