"""A call that runs apart (a child CLI from a worker thread), and its cancellation.

The worker thread runs :func:`~.tool_call.run_cli_apart`.  When the call is
cancelled (the client's ``notifications/cancelled``, or the client closed
stdin and the server is ending), the await returns at once and the child
CLI started by that thread gets SIGTERM: it takes the CLI's interrupt path
(its own children stopped, its temporaries swept, nothing half-made left),
and is killed after the runner's grace period.  The cancel waits for the
worker to finish, so nothing of the call outlives it.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scitex_container.mcp.tool_call import CallOutcome


class _Call:
    """The worker's thread id (once known), whether the call was cancelled, when it ended."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.cancelled = threading.Event()
        self.done = threading.Event()

    def work(self, argv: list[str]) -> CallOutcome | None:
        from scitex_container.mcp import tool_call

        self.thread = threading.get_ident()
        try:
            if self.cancelled.is_set():
                return None
            return tool_call.run_cli_apart(argv)
        finally:
            self.done.set()


async def run_apart(argv: list[str]) -> Any:
    """Run the CLI with ``argv`` in a child process; a cancel stops it (see module)."""
    import anyio
    import anyio.to_thread

    from scitex_container.process import runner

    call = _Call()
    try:
        return await anyio.to_thread.run_sync(partial(call.work, argv), abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        call.cancelled.set()
        with anyio.CancelScope(shield=True):
            while not call.done.is_set():
                if call.thread is not None:
                    await anyio.to_thread.run_sync(
                        partial(runner.stop_children, thread=call.thread)
                    )
                await anyio.to_thread.run_sync(call.done.wait, 1.0)
        raise
