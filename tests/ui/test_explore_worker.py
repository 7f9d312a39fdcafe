"""The Explore worker: newest request per channel wins, stale results are dropped."""

from __future__ import annotations

import threading

import pytest

from explorer.ui.explore_worker import ExploreWorker


class Recorder:
    """Collects callbacks (they run on the GUI thread) and the tasks the worker ran."""

    def __init__(self) -> None:
        self.ran: list[int] = []
        self.delivered: list[int] = []

    def task(self, value: int):
        def run() -> int:
            self.ran.append(value)
            return value
        return run


@pytest.fixture
def service(qtbot):
    service = ExploreWorker()
    yield service
    service.shutdown()


def block_worker(service: ExploreWorker, channel: str = "block") -> threading.Event:
    """Occupy the worker until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def wait() -> None:
        started.set()
        release.wait(5)

    service.submit(channel, wait, lambda _: None)
    assert started.wait(5)
    return release


def test_fifty_fast_requests_run_once_and_deliver_the_last(qtbot, service) -> None:
    rec = Recorder()
    release = block_worker(service)
    ids = [service.submit("shape", rec.task(i), rec.delivered.append) for i in range(50)]
    release.set()
    qtbot.waitUntil(lambda: rec.delivered == [49], timeout=5000)
    assert rec.ran == [49]
    assert ids == list(range(1, 51))
    qtbot.waitUntil(service.is_idle, timeout=2000)


def test_live_channel_delivers_every_newer_result_in_order(qtbot, service) -> None:
    rec = Recorder()
    for i in range(30):
        service.submit("slider", rec.task(i), rec.delivered.append, live=True)
        qtbot.wait(1)
    qtbot.waitUntil(lambda: rec.delivered[-1:] == [29], timeout=5000)
    assert rec.delivered == sorted(set(rec.delivered))     # never an older one after a newer
    assert set(rec.delivered) <= set(rec.ran)


def test_cancel_drops_results_in_flight(qtbot, service) -> None:
    rec = Recorder()
    release = block_worker(service, "gallery")
    service.submit("gallery", rec.task(1), rec.delivered.append)
    service.cancel("gallery")
    release.set()
    service.submit("other", rec.task(2), rec.delivered.append)
    qtbot.waitUntil(lambda: rec.delivered == [2], timeout=5000)
    assert rec.ran == [2]


def test_channels_do_not_replace_each_other(qtbot, service) -> None:
    rec = Recorder()
    release = block_worker(service)
    for channel in ("a", "b", "c"):
        service.submit(channel, rec.task(ord(channel)), rec.delivered.append)
    release.set()
    qtbot.waitUntil(lambda: len(rec.delivered) == 3, timeout=5000)
    assert rec.delivered == [ord("a"), ord("b"), ord("c")]


def test_failures_come_back_as_messages(qtbot, service) -> None:
    def broken() -> None:
        raise ValueError("bad latent code")

    errors: list[str] = []
    with qtbot.waitSignal(service.error, timeout=5000) as signal:
        service.submit("shape", broken, lambda _: None)
    assert signal.args == ["shape", "ValueError: bad latent code"]
    service.submit("export-1", broken, lambda _: None, on_error=errors.append)
    qtbot.waitUntil(lambda: errors == ["ValueError: bad latent code"], timeout=5000)
