"""`moor` verbs: build."""


def register(subparsers):
    """Add this group's verbs to the `moor` parser."""
