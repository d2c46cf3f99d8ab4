"""Two recorders by mistake (two workers on the cpu queue) while a reader polls every 100 ms:
only the holder of the recorder lease writes; killed (kill -9) mid-flood, the other takes over
at the default lease TTL. Every record is stored exactly once and the reader never sees an error.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time

import redis

from storage.records import RunRecord, SearchRecord
from tests.tasks.conftest import REPO, Service, wait_for

BATCHES, SIZE = 60, 20

# Sends every batch of candidates twice through the `record` task (the op log's older door), so
# the copies race on the same keys.
SENDER = """
import sys
from storage.records import CandidateRecord
from tasks.jobs import record

first, end, batches, size = (int(a) for a in sys.argv[1:5])
for b in range(first, end):
    records = [
        CandidateRecord("w1", "w1.s", f"b{b:03d}c{k:02d}", {"b": b, "k": k},
                        accuracy=(k + 1) / (size + 1), energy_uj=float(b * size + k + 1),
                        generation=b).to_dict()
        for k in range(size)
    ]
    ops = [{"op": "add_candidates", "records": records},
           {"op": "update_run", "run": "w1", "state": "searching", "progress": (b + 1) / batches}]
    record.apply_async(args=[ops])
    record.apply_async(args=[ops])
"""


def test_two_recorders_one_killed_and_a_polling_reader(service: Service) -> None:
    store = service.store()
    store.create_run(RunRecord(name="w1", dataset="digits", state="searching"))
    store.create_search(SearchRecord(id="w1.s", run="w1", strategy="evolution"))
    first = service.worker("--queues", "cpu", log="writer-1")
    second = service.worker("--queues", "cpu", log="writer-2")
    client = redis.Redis.from_url(service.redis.url)
    holder = wait_for(lambda: client.get("autospikformer:recorder"), 120, "a recorder to drain")
    pid = int(holder.decode().split(":")[1].split("/")[0])
    draining, standby = (first, second) if pid == first.pid else (second, first)
    reader = service.store()
    total = BATCHES * SIZE
    started = time.monotonic()

    def send(first: int, end: int) -> subprocess.Popen:
        args = [str(a) for a in (first, end, BATCHES, SIZE)]
        return subprocess.Popen([sys.executable, "-c", SENDER, *args], cwd=REPO, env=service.env)

    # The first half goes before the kill and the second after it, so the standby must store
    # records whatever the draining recorder had finished when it died.
    sender = send(0, BATCHES // 2)
    latencies, errors, count, killed = [], [], 0, None
    deadline = started + 240
    while count < total and time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            count = reader.count_candidates("w1")
            reader.get_run("w1")
        except Exception as err:  # noqa: BLE001 - any error the app would see fails the test
            errors.append(repr(err))
        latencies.append(time.monotonic() - t0)
        if killed is None and count >= total // 4:
            os.killpg(draining.pid, signal.SIGKILL)  # mid-flood, maybe mid-transaction
            killed = time.monotonic()
            assert sender.wait(60) == 0
            sender = send(BATCHES // 2, BATCHES)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
    elapsed = time.monotonic() - started
    assert sender.wait(60) == 0
    assert standby.poll() is None
    taken_over = client.get("autospikformer:recorder").decode()
    service.stop_all()

    assert killed is not None and str(standby.pid) in taken_over
    assert errors == []
    records = store.candidates("w1")
    assert len(records) == total
    assert {r.id for r in records} == {
        f"b{b:03d}c{k:02d}" for b in range(BATCHES) for k in range(SIZE)
    }
    assert service.duplicated_rows() == 0
    assert store.get_run("w1").progress == 1.0
    print(
        f"\n{total} records ({2 * BATCHES} op lists of {SIZE}, each sent twice), the draining "
        f"recorder killed at {killed - started:.1f} s, all stored by {elapsed:.1f} s; reader over "
        f"{len(latencies)} polls: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
