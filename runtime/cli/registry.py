"""`moor` verbs: registry."""


def register(subparsers):
    """Add this group's verbs to the `moor` parser."""
