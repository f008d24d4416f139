# syntax=docker/dockerfile:1
# One Dockerfile for every service; build context: the repository root.
#   docker build --build-arg SERVICE=ingest -t cxr-assist/ingest:<tag> .
#   docker build --build-arg SERVICE=inference-worker -t cxr-assist/inference-worker:<tag> .
#   docker build --build-arg SERVICE=report -t cxr-assist/report:<tag> .
# The inference worker on NVIDIA GPUs (onnxruntime's CUDA execution provider), target `gpu`:
#   docker build --target gpu --build-arg SERVICE=inference-worker -t cxr-assist/inference-worker-gpu:<tag> .
# Run that one with WORKER_EXECUTION_PROVIDERS=cuda,cpu (infra/k8s/overlays/gpu sets it) on a node
# with an NVIDIA driver for CUDA 12 and the NVIDIA container toolkit / device plugin.
#
# Test files (*.test.ts, *.int.test.ts, *.test-support.ts), benchmarks and tests/ never enter the
# build context (.dockerignore); tests/compose/image-contents.test.ts checks what an image holds.
# The image's command is the service's start script, written at build from its package.json
# (cxr.nodeFlags): an exec-form CMD cannot differ per build argument. The script execs node, so
# node is PID 1 and gets SIGTERM.
ARG NODE_IMAGE=node:20-bookworm-slim
# CUDA 12.x + cuDNN 9 as onnxruntime-node 1.30's CUDA build expects. Check the tag exists in your
# registry mirror when bumping onnxruntime-node; its release notes name the CUDA/cuDNN it was built with.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY . .
RUN test -f "services/${SERVICE}/package.json" || { echo "--build-arg SERVICE= must name a folder of services/ (got '${SERVICE}')" >&2; exit 1; }
RUN npm ci --omit=dev --no-audit --no-fund -w "@cxr/${SERVICE}" --include-workspace-root \
 && node --import tsx libs/devstack/src/cli/image-start-script.ts "${SERVICE}" /app/start.sh \
 && rm -rf models/*/training

# The GPU build. Why two bases: onnxruntime-node ships only its CPU binaries on npm. Its postinstall
# (node_modules/onnxruntime-node/script/install.js) fetches the CUDA provider libraries
# (libonnxruntime_providers_cuda.so, _shared.so, _tensorrt.so from the Microsoft.ML.OnnxRuntime.Gpu.Linux
# NuGet package) when ONNXRUNTIME_NODE_INSTALL=cuda12. The repository's .npmrc says
# `onnxruntime-node-install=skip` so ordinary installs never download them; the environment variable
# is read first and wins, here only. Those libraries need the CUDA 12 runtime, cuBLAS, cuFFT, cuRAND
# and cuDNN 9 at run time, which the NVIDIA CUDA "cudnn-runtime" image provides.
FROM ${NODE_IMAGE} AS build-gpu
ARG SERVICE
WORKDIR /app
# The postinstall downloads over HTTPS: it needs CA certificates (absent from the slim image).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
COPY . .
RUN test "${SERVICE}" = inference-worker || { echo "the gpu target is the inference worker's: --build-arg SERVICE=inference-worker (got '${SERVICE}')" >&2; exit 1; }
# The two `test -f` fail the build here, not later on a GPU node, if the CUDA provider did not arrive.
RUN npm ci --omit=dev --no-audit --no-fund -w "@cxr/${SERVICE}" --include-workspace-root \
 && node --import tsx libs/devstack/src/cli/image-start-script.ts "${SERVICE}" /app/start.sh \
 && rm -rf models/*/training \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so

FROM ${CUDA_IMAGE} AS gpu
WORKDIR /app
ENV NODE_ENV=production
# Node from the official image (one binary; the CUDA image has no Node). Its glibc needs are met by
# Ubuntu 22.04.
COPY --from=build-gpu /usr/local/bin/node /usr/local/bin/node
COPY --from=build-gpu --chown=root:root /app /app
# The same numeric user as the node image's `node` (1000), which the Kubernetes manifests run as.
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /usr/sbin/nologin --no-create-home node
# Non-root, and nothing under /app is written at run time (read-only root filesystem friendly).
USER node
EXPOSE 8081
ENV WORKER_HTTP_HOST=0.0.0.0 WORKER_EXECUTION_PROVIDERS=cuda,cpu
CMD ["/bin/sh", "/app/start.sh"]

# The default target: any service on the CPU.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=root:root /app /app
# Non-root, and nothing under /app is written at run time (read-only root filesystem friendly).
USER node
# Each service reads only its own; listening on every interface is what a container needs.
ENV INGEST_DIMSE_HOST=0.0.0.0 INGEST_HTTP_HOST=0.0.0.0 WORKER_HTTP_HOST=0.0.0.0 REPORT_HTTP_HOST=0.0.0.0
# ingest: 11112 (DIMSE) and 8080; inference-worker: 8081; report: 8090.
EXPOSE 11112 8080 8081 8090
CMD ["/bin/sh", "/app/start.sh"]
