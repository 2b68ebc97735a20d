"""The worker check: a job that proves, end to end, that a worker takes and runs work."""

import logging
import os
import socket
import time
from typing import Any

from core.jobs import JobRun, job_handler

logger = logging.getLogger(__name__)

MAX_HOLD_SECONDS = 60


@job_handler("worker_check")
def worker_check(run: JobRun) -> dict[str, Any]:
    """Report which host and process ran the job, after holding the worker ``hold_seconds``.

    Holding lets an operator watch a job in its running state, or stop a worker mid-job to see
    the job taken over.
    """
    hold_seconds = min(float(run.job.params.get("hold_seconds", 0)), MAX_HOLD_SECONDS)
    run.progress(done=0, total=1)
    run.log(f"running on {socket.gethostname()} in process {os.getpid()}")
    time.sleep(hold_seconds)
    logger.info("worker check ran", extra={"job_id": run.job.pk})
    run.progress(done=1, total=1)
    return {"hostname": socket.gethostname(), "pid": os.getpid()}
