"""A progress hook the CLI sets and the flows call after each chunk (same process, no Prefect involved)."""

from collections.abc import Callable

ProgressHook = Callable[[int, int], None]  # (rows handled in this chunk, of which failed)

_hook: ProgressHook | None = None


def set_progress_hook(hook: ProgressHook | None) -> None:
    global _hook
    _hook = hook


def report_progress(handled: int, failed: int) -> None:
    if _hook is not None:
        _hook(handled, failed)
