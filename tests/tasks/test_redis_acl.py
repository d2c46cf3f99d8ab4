"""The multi-host Redis recipe of docs/architecture.md, as written there: TLS only, a user per
role. A search launched by the head host's user runs on a GPU worker logged in as `gpu`, and
Redis denies nothing on the way (`ACL LOG` stays empty); a client without a user, or without
TLS, gets nothing."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.tasks.conftest import REPO, RUN_ARGS, SPACE, free_port, wait_for

PASSWORDS = {"admin": "admin-pw-1", "head": "head/pw+2", "gpu": "gpu pw 3"}


def _recipe() -> tuple[str, str]:
    """The `redis.conf` and `users.acl` blocks of docs/architecture.md."""
    text = (REPO / "docs" / "architecture.md").read_text()
    conf = re.search(r"`redis.conf` on the Redis host[^`]*?\n\n```conf\n(.*?)```", text, re.S)
    acl = re.search(r"`users.acl` \(.*?\n\n```text\n(.*?)```", text, re.S)
    assert conf and acl, "the recipe's two blocks are gone from docs/architecture.md"
    return conf.group(1), acl.group(1)


def _certificates(folder: Path) -> None:
    """A certificate authority and a server certificate for 127.0.0.1 (openssl)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=autospikformer-test-ca")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "redis.key", "-out", "redis.csr",
            "-subj", "/CN=127.0.0.1")  # fmt: skip
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "redis.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "redis.crt", "-days", "2",
            "-extfile", "san.cnf")  # fmt: skip


def _url(user: str, port: int, tls: Path) -> str:
    from urllib.parse import quote

    query = f"ssl_cert_reqs=required&ssl_ca_certs={tls / 'ca.crt'}"
    return f"rediss://{user}:{quote(PASSWORDS[user], safe='')}@127.0.0.1:{port}/0?{query}"


@pytest.fixture(scope="module")
def recipe_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    folder = tmp_path_factory.mktemp("redis-recipe")
    tls = folder / "tls"
    tls.mkdir()
    _certificates(tls)
    conf, acl = _recipe()
    port = free_port()
    for user, password in PASSWORDS.items():
        acl = acl.replace(f"#{user.upper()}_PASSWORD_SHA256", "#" + hashlib.sha256(
            password.encode()).hexdigest())  # fmt: skip
    (folder / "users.acl").write_text(acl)
    conf = (
        conf.replace("/etc/redis/tls/", f"{tls}/")
        .replace("/etc/redis/users.acl", str(folder / "users.acl"))
        .replace("/var/lib/redis", str(folder))
        .replace("tls-port 6379", f"tls-port {port}")
    )
    (folder / "redis.conf").write_text(conf + "bind 127.0.0.1\n")
    server = subprocess.Popen(
        ["redis-server", str(folder / "redis.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    admin = redis.Redis.from_url(_url("admin", port, tls))

    def answers() -> bool:
        try:
            return bool(admin.ping())
        except redis.exceptions.ConnectionError:
            return server.poll() is not None  # exited: fail below, not by a timeout

    wait_for(answers, 20, "the recipe's Redis")
    assert server.poll() is None, (folder / "redis.conf").read_text()
    yield port, tls
    server.terminate()
    server.wait(10)


def test_the_multi_host_recipe_runs_a_search_and_denies_nothing(
    recipe_redis: tuple[int, Path], tmp_path: Path
) -> None:
    from storage.duckdb_store import DuckDBStore

    port, tls = recipe_redis
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    head_home, gpu_home = tmp_path / "head", tmp_path / "gpu-host"
    artefacts = tmp_path / "shared"

    def env(user: str, home: Path) -> dict[str, str]:
        return {
            **os.environ,
            "REDIS_URL": _url(user, port, tls),
            "AUTOSPIKFORMER_HOME": str(home),
            "AUTOSPIKFORMER_ARTEFACTS": str(artefacts),
            "AUTOSPIKFORMER_TORCH_THREADS": "1",
        }

    def worker(queues: str, user: str, home: Path) -> subprocess.Popen:
        (home / "logs").mkdir(parents=True, exist_ok=True)
        with open(home / "logs" / f"{queues}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "--queues", queues],
                cwd=REPO, env=env(user, home), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    workers = [worker("cpu", "head", head_home), worker("gpu", "gpu", gpu_home)]
    try:
        args = ["launch", "--run", "acl", "--space", str(space), *RUN_ARGS]
        args[args.index("--generations") + 1] = "1"
        launched = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env("head", head_home),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert launched.returncode == 0, launched.stderr
        store = DuckDBStore(head_home / "store.duckdb")
        ended = ("done", "failed", "cancelled")
        wait_for(lambda: store.get_run("acl").state in ended, 300, "the run to end", every=1.0)
        assert store.get_run("acl").state == "done", store.get_run("acl").message
    finally:
        for proc in workers:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    admin = redis.Redis.from_url(_url("admin", port, tls))
    assert admin.execute_command("ACL", "LOG") == []  # no command or key was denied

    gpu = redis.Redis.from_url(_url("gpu", port, tls))
    with pytest.raises(redis.exceptions.NoPermissionError):
        gpu.execute_command("FLUSHALL")
    with pytest.raises(redis.exceptions.NoPermissionError):
        gpu.set("someone-elses-key", 1)
    anonymous = f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={tls}/ca.crt"
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis.from_url(anonymous).ping()
    plain = f"redis://head:x@127.0.0.1:{port}/0"  # no TLS: the server does not answer it
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(plain, socket_timeout=3).ping()
