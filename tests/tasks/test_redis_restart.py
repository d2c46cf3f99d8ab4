"""Redis restarts (empty: no persistence) in the middle of a run, during training and search."""

from __future__ import annotations

import time

from tests.tasks.conftest import Service, wait_for


def _restart(service: Service) -> None:
    service.redis.stop()  # every queued task and every mark is gone with it
    time.sleep(2)
    service.redis.start()


def test_run_survives_redis_restarts(service: Service) -> None:
    service.worker("--queues", "cpu", log="recorder")
    service.worker("--queues", "gpu", log="gpu")
    service.launch("r5")
    wait_for(lambda: service.run_state("r5") == "training", 120, "training to start")
    _restart(service)

    wait_for(lambda: service.store().count_candidates("r5") > 0, 240, "a recorded generation")
    before = service.candidate_set("r5")
    _restart(service)

    state = service.wait_state("r5", ("done", "failed", "cancelled"), timeout=240)
    assert state == "done", service.store().get_run("r5").message
    after = service.candidate_set("r5")
    assert before.items() <= after.items()  # nothing recorded before the restart was lost
    generations = service.store().generations("r5.evolution.1")
    assert [g.generation for g in generations] == [0, 1]
    assert generations[-1].evaluated == len(after)
    assert service.duplicated_rows() == 0
    service.stop_all()
