"""Refresh runs in the foreground (the management commands): a progress bar and a summary."""

from typing import TextIO

from django.core.management.base import CommandError
from tqdm import tqdm

from core.changelog import Actor
from inventory.refresh.runner import RefreshRun, RunSummary

COMMAND_ACTOR = Actor.system("manage.py refresh")


def refresh_in_foreground(model_ids: list[int], *, stdout: TextIO, stderr: TextIO) -> RunSummary:
    """Run the refresh here, with a progress bar on ``stderr``; a summary goes to ``stdout``, and
    CommandError (exit status 1) says how many models failed, when some did."""
    # The bar writes carriage returns; a command's OutputWrapper would end each with a newline.
    stream = getattr(stderr, "_out", stderr)
    with tqdm(total=len(model_ids), unit="model", file=stream, dynamic_ncols=True) as bar:

        def progress(*, done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        summary = RefreshRun(actor=COMMAND_ACTOR, on_progress=progress, on_log=bar.write).run(model_ids)
    stdout.write(
        f"{len(summary.ok)} refreshed ({len(summary.changed)} changed upstream), {len(summary.gone)} gone, "
        f"{len(summary.failed)} failed, {len(summary.skipped)} skipped\n"
    )
    for label, error in summary.failed.items():
        stdout.write(f"failed: {label}: {error}\n")
    if summary.failed:
        raise CommandError(f"{len(summary.failed)} of the models could not be refreshed (see above)")
    return summary
