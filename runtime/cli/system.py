"""`moor` verbs: system."""


def register(subparsers):
    """Add this group's verbs to the `moor` parser."""
