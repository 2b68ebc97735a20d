"""A write the object's current state does not allow (a review already decided, say).

Services raise it; each interface turns it into its own answer (the API: 409).
"""


class Conflict(Exception):
    """The object is in a state that does not allow this change; nothing was changed."""
