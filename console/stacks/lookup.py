"""Naming a stack: by its number (the API's `{id}`, the pages' URLs). A stack a user cannot see
is "no such stack" like one that does not exist, and an attempt to act on either is audited
alike, as denied, with only the reference as typed (`audit.record_unseen`)."""
from console import audit
from console.core.errors import NotFound
from console.stacks.models import Stack


def visible_stack(user, ref, *, verb: str = "view", request=None, queryset=None) -> Stack:
    """The stack numbered `ref` among those `user` may see; NotFound otherwise (the attempt to
    `verb` one, but to view it, audited)."""
    queryset = queryset if queryset is not None else Stack.objects.select_related("host", "team")
    ref = str(ref).strip()
    stack = queryset.restrict(user, "view").filter(pk=int(ref)).first() \
        if ref.isdigit() and len(ref) < 19 else None
    if stack is None:
        if verb != "view":
            audit.record_unseen(f"stack.{verb}", actor=user, request=request,
                                target_type="stack", reference=ref)
        raise NotFound(f"No such stack: {ref}")
    return stack
