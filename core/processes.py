"""Who holds a claim: ``host:pid`` of a process, and whether that process is known to be dead."""

import os
import socket


def process_identity() -> str:
    """``host:pid`` of this process, recorded on what it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_is_gone(identity: str) -> bool:
    """True when ``identity`` (``host:pid``, optionally followed by ``:anything``) names a process
    on this host that no longer runs. Only processes on this host can be checked; a claimant
    elsewhere is never called gone (its lease decides)."""
    host, _, rest = identity.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
