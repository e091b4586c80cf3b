"""Group commit for ``qcode serve``: the key presses waiting at one moment are recorded in one transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Press = tuple[list[dict[str, Any]], str]


class GroupWriter:
    """One thread that commits the key presses waiting at that moment together (group commit).

    A press waits while the previous group is being written and fsynced,
    then joins the next group: under load, many presses share one fsync. If a
    group fails, each of its presses is retried alone, so one bad press fails
    alone and the others are recorded.
    """

    def __init__(self, write: Callable[[list[Press]], list[list[int]]], max_batch: int = 64):
        import queue

        self.write = write  # records a batch of presses in one transaction; returns each press's event ids
        self.max_batch = max_batch
        self.pending: queue.Queue[tuple[list[dict[str, Any]], str, Any]] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.start_lock = threading.Lock()

    def submit(self, events: list[dict[str, Any]], key: str) -> list[int]:
        from concurrent.futures import Future

        with self.start_lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="qcode-web-writer", daemon=True)
                self.thread.start()
        future: Future = Future()
        self.pending.put((events, key, future))
        return future.result()

    def _run(self) -> None:
        import queue

        while True:
            first = self.pending.get()
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.pending.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[tuple[list[dict[str, Any]], str, Any]]) -> None:
        try:
            results = self.write([(events, key) for events, key, _ in batch])
        except BaseException as exc:
            if len(batch) == 1:
                batch[0][2].set_exception(exc)
                return
            for item in batch:  # find the press that failed; the others are recorded alone
                self._write([item])
            return
        for (_, _, future), ids in zip(batch, results):
            future.set_result(ids)


__all__ = ["GroupWriter"]
