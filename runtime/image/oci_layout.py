"""OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md):
`oci-layout`, `index.json` and `blobs/sha256/<hex>`, in a tar (an OCI archive, what `podman
save --format oci-archive` and skopeo's `oci-archive:` write) or a directory (skopeo's
`oci:`).

Loading reads `index.json`, follows each manifest (an image index's entry for this host's
platform), and checks every blob it reads against the digest its descriptor names; the
layers are then unpacked and checked against the config's diff IDs like any other
(archive.py). An image is named by `io.containerd.image.name` (what Docker writes), else by
`org.opencontainers.image.ref.name` when that holds a whole reference (`x:1`,
`docker.io/library/x:1`); a ref.name that is only a tag (`1`, as Docker writes beside the
containerd name) names nothing.
"""

import hashlib
import json

from runtime.errors import InvalidArgument, MoorError

LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'
CONTAINERD_NAME = "io.containerd.image.name"
REF_NAME = "org.opencontainers.image.ref.name"
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
MAX_MANIFEST = 4 << 20


def annotations(tag: str, format: str) -> dict:
    """How `save` names an image in index.json: Docker's way in a docker-archive (the
    containerd name, ref.name the tag alone), podman's and skopeo's in an oci-archive
    (ref.name the reference itself)."""
    if format == "oci-archive":
        return {CONTAINERD_NAME: tag, REF_NAME: tag}
    return {CONTAINERD_NAME: tag, REF_NAME: tag.rpartition(":")[2]}


def _fail(message: str):
    raise InvalidArgument(f"invalid OCI layout: {message}")


def _digest_of(descriptor, what: str) -> str:
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
        _fail(f"{what} is not a descriptor")
    digest = descriptor["digest"]
    algorithm, _, hexpart = digest.partition(":")
    if algorithm != "sha256" or len(hexpart) != 64 or \
            any(c not in "0123456789abcdef" for c in hexpart):
        _fail(f"{what} has an unsupported digest {digest[:80]!r}")
    return digest


def blob_name(digest: str) -> str:
    return f"blobs/sha256/{digest[7:]}"


def _blob(members, descriptor, what: str, limit: int = MAX_MANIFEST) -> bytes:
    """A small blob (manifest, index, config), refused unless it hashes to its digest."""
    digest = _digest_of(descriptor, what)
    data = members.read(blob_name(digest), limit)
    if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        _fail(f"the {what} {digest} does not match its digest")
    return data


def _json_object(data: bytes, what: str) -> dict:
    try:
        document = json.loads(data)
    except ValueError:
        _fail(f"the {what} is not JSON")
    if not isinstance(document, dict):
        _fail(f"the {what} is not a JSON object")
    return document


def names_of(descriptor: dict) -> list[str]:
    """The names an index entry gives its image (see the module's rules)."""
    notes = descriptor.get("annotations") or {}
    if not isinstance(notes, dict):
        return []
    for key in (CONTAINERD_NAME, REF_NAME):
        name = notes.get(key)
        if isinstance(name, str) and (key == CONTAINERD_NAME or any(c in name for c in ":/@")):
            return [name]
    return []


def images(members) -> list[dict]:
    """The images of the layout, each {"config": bytes, "layers": [(blob name, digest)],
    "tags": [names]}, one per manifest (the names of all the entries pointing at it)."""
    from runtime.image.distribution.pull import choose_platform
    index = _json_object(members.read("index.json", MAX_MANIFEST), "index.json")
    entries = index.get("manifests")
    if not isinstance(entries, list) or not entries:
        _fail("index.json lists no manifests")
    found: dict[str, dict] = {}
    for number, descriptor in enumerate(entries):
        what = f"manifest {number + 1} of index.json"
        manifest = _json_object(_blob(members, descriptor, what), what)
        if descriptor.get("mediaType") in INDEX_TYPES or manifest.get("mediaType") in \
                INDEX_TYPES or ("manifests" in manifest and "layers" not in manifest):
            try:
                chosen = choose_platform(manifest)
            except MoorError as error:
                _fail(error.message)
            what = f"the image of {what}"
            descriptor = {**chosen, "annotations": descriptor.get("annotations")}
            manifest = _json_object(_blob(members, chosen, what), what)
        digest = _digest_of(descriptor, what)
        image = found.get(digest)
        if image is None:
            image = found[digest] = _image(members, manifest, what)
        image["tags"].extend(name for name in names_of(descriptor)
                             if name not in image["tags"])
    return list(found.values())


def _image(members, manifest: dict, what: str) -> dict:
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        _fail(f"{what} has no layer list")
    config = _blob(members, manifest.get("config"), f"config of {what}", 16 << 20)
    return {"config": config,
            "layers": [(blob_name(_digest_of(layer, f"layer {n + 1} of {what}")),
                        layer["digest"]) for n, layer in enumerate(layers)],
            "tags": []}
