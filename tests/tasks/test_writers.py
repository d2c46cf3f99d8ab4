"""Two writer processes (two workers on the cpu queue) while a reader polls every 100 ms."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from storage.records import RunRecord, SearchRecord
from tests.tasks.conftest import REPO, Service

BATCHES, SIZE = 60, 20

# Sends every batch of candidates twice, so the two writers race on the same keys.
SENDER = """
import sys
from storage.records import CandidateRecord
from tasks.jobs import record

batches, size = int(sys.argv[1]), int(sys.argv[2])
for b in range(batches):
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


def test_two_writers_and_a_polling_reader(service: Service) -> None:
    store = service.store()
    store.create_run(RunRecord(name="w1", dataset="digits", state="searching"))
    store.create_search(SearchRecord(id="w1.s", run="w1", strategy="evolution"))
    service.worker("--queues", "cpu", log="writer-1")
    service.worker("--queues", "cpu", log="writer-2")
    reader = service.store()
    total = BATCHES * SIZE
    started = time.monotonic()
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(BATCHES), str(SIZE)], cwd=REPO, env=service.env
    )
    latencies, errors, count = [], [], 0
    deadline = started + 180
    while count < total and time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            count = reader.count_candidates("w1")
            reader.get_run("w1")
        except Exception as err:  # noqa: BLE001 - any error the app would see fails the test
            errors.append(repr(err))
        latencies.append(time.monotonic() - t0)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
    elapsed = time.monotonic() - started
    assert sender.wait(60) == 0
    service.stop_all()

    assert errors == []
    records = store.candidates("w1")
    assert len(records) == total
    assert {r.id for r in records} == {
        f"b{b:03d}c{k:02d}" for b in range(BATCHES) for k in range(SIZE)
    }
    assert service.duplicated_rows() == 0
    assert store.get_run("w1").progress == 1.0
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(
        f"\n{total} records ({2 * BATCHES} batches of {SIZE}, each sent twice) by 2 writers in "
        f"{elapsed:.1f} s = {total / elapsed:.0f} records/s; reader latency over "
        f"{len(latencies)} polls: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
