"""The service under measurement: uvicorn on a loopback port in a thread of the benchmark's process."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serves `app` on 127.0.0.1 (the kernel picks the port as it binds) and yields its base URL."""
    server = uvicorn.Server(
        # A phone keeps its connection between payments; on the network a round of another variant
        # outlasts uvicorn's default keep-alive of 5 s.
        uvicorn.Config(
            app, host="127.0.0.1", port=0, access_log=False, log_level="warning", timeout_keep_alive=120
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("the service did not start (see uvicorn's message above)")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
