"""Naming an image: the one row a reference (its number in the list, an ID, an ID prefix, a
`name[:tag]`) names among those a user may see. Strangers learn nothing: an image they cannot
see is "no such image" like one that does not exist, and an attempt to act on either is
audited alike, as denied, with only the reference as typed (`audit.record_unseen`)."""
from console import audit
from console.core.errors import NotFound
from console.images.models import Image


def named(images, ref: str) -> list[Image]:
    """The images of `images` that `ref` names: a number (the row's), an ID, an ID prefix or
    a `name[:tag]`."""
    if ref.isdigit():
        by_pk = list(images.filter(pk=int(ref)))
        if by_pk:
            return by_pk
    return [image for image in images if image.matches(ref)]


def visible_image(user, ref: str, images, *, verb: str = "view", request=None) -> Image:
    """The image `ref` names among `images` (those `user` may see); NotFound otherwise, the
    attempt to `verb` (but view) one audited."""
    ref = ref.strip()
    matches = named(images, ref)
    if not matches:
        if verb != "view":
            audit.record_unseen(f"image.{verb}", actor=user, request=request,
                                target_type="image", reference=ref)
        raise NotFound(f"No such image: {ref}")
    if len(matches) > 1:
        raise NotFound(f"{ref} names several images: give more of the ID, or ?host=.")
    return matches[0]
