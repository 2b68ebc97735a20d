"""The worker check: a job that proves, end to end, that a worker takes and runs work."""

import logging
import os
import socket
from typing import Any

from core.jobs import JobRun, job_handler

logger = logging.getLogger(__name__)


@job_handler("worker_check")
def worker_check(run: JobRun) -> dict[str, Any]:
    """Report which host and process ran the job."""
    run.progress(done=0, total=1)
    logger.info("worker check ran", extra={"job_id": run.job.pk})
    run.log(f"ran on {socket.gethostname()} in process {os.getpid()}")
    run.progress(done=1, total=1)
    return {"hostname": socket.gethostname(), "pid": os.getpid()}
