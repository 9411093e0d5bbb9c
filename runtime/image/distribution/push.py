"""`moor push`: an image from the store to a registry.

Each layer goes as a gzip blob: the layer's source when that is one (a pulled layer, or one
pushed before), otherwise the layer packed into its canonical tar and gzipped with fixed
settings. That blob becomes the layer's source, so the next push of the layer sends the same
digest and the registry says it has it. For each layer, then the config: HEAD, and when the
registry lacks the blob a monolithic upload (POST, then PUT with the digest). Last the OCI
image manifest is PUT under the tag, and its digest is checked against the registry's.
"""

import gzip
import hashlib
import json
import os

from runtime import atomic
from runtime.errors import InvalidArgument, MoorError, NotFound
from runtime.image.distribution.client import CONFIG_OCI, LAYER_OCI_GZIP, MANIFEST_OCI, Client
from runtime.image.distribution.credentials import Credentials
from runtime.image.distribution.names import locate
from runtime.image.layer_pack import pack_layer

GZIP_LEVEL = 6      # what Docker's Go gzip uses by default


class _HashingWriter:
    """A file that hashes and counts what is written to it."""

    def __init__(self, out):
        self._out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._out.write(data)

    def flush(self) -> None:
        self._out.flush()


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _gzip_layer(store, chain_id: str, diff_id: str, source: str | None, path: str) -> tuple:
    """Write the layer's tar, gzipped, to `path`: from its uncompressed source blob when it
    has one, else packed from its directory. Returns (digest, size)."""
    from runtime.image.layer_unpack import decompressed
    with open(path, "wb") as raw:
        hashed = _HashingWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=hashed, compresslevel=GZIP_LEVEL,
                           mtime=0) as compressed:
            if source:
                tar = hashlib.sha256()
                with open(store.blob_path(source), "rb") as blob:
                    stream = decompressed(blob)
                    for block in iter(lambda: stream.read(1 << 20), b""):
                        tar.update(block)
                        compressed.write(block)
                packed_diff = "sha256:" + tar.hexdigest()
            else:
                packed_diff = pack_layer(store.layer_diff(chain_id), compressed).diff_id
    if packed_diff != diff_id:
        what = "its archive no longer matches" if source else \
            "it has no archive of its own and its files no longer pack to"
        raise MoorError(f"layer {diff_id[:19]} cannot be pushed: {what} its diff ID (remove "
                        "and re-create the image)")
    return "sha256:" + hashed.digest.hexdigest(), hashed.size


def _source_in_use(store, digest: str, besides: str) -> bool:
    """Whether a layer other than `besides` keeps `digest` as its source."""
    for name in os.listdir(store.paths.layers):
        chain = "sha256:" + name
        if chain == besides:
            continue
        info = atomic.read_json(os.path.join(store.paths.layers, name, "layer.json"), {})
        if (info.get("source") or {}).get("digest") == digest:
            return True
    return False


def compressed_layer(store, chain_id: str, diff_id: str) -> tuple[str, int]:
    """The layer's gzip blob in the store, made and remembered as its source when it has
    none yet. Returns (digest, size)."""
    source = (store.layer_info(chain_id).get("source") or {}).get("digest")
    if source and store.has_blob(source):
        path = store.blob_path(source)
        if _is_gzip(path):
            return source, os.path.getsize(path)
    else:
        source = None
    with store.staging_dir("push-") as staging:
        staged = os.path.join(staging, "layer.tar.gz")
        digest, size = _gzip_layer(store, chain_id, diff_id, source, staged)
        with store.lock():
            if not store.has_layer(chain_id):
                raise NotFound(f"layer {chain_id} was removed during the push")
            store.put_blob_file(staged, digest)
            info = store.layer_info(chain_id)
            info["source"] = {"digest": digest, "mediaType": LAYER_OCI_GZIP}
            atomic.write_json(os.path.join(store.layer_path(chain_id), "layer.json"), info)
            # An uncompressed archive the gzip blob replaces is the same layer: drop it.
            if source and source != digest and not _source_in_use(store, source, chain_id):
                os.unlink(store.blob_path(source))
    return digest, size


def push(engine, text: str, progress=None, insecure: bool = False) -> str:
    """Push the local image `text` names to its registry; returns the manifest digest."""
    say = progress or (lambda line: None)
    location = locate(text)
    if location.digest:
        raise InvalidArgument(f"cannot push a digest reference: {text}")
    store = engine.store
    try:
        image_id = store.resolve(location.familiar_reference)
    except NotFound:
        raise NotFound("An image does not exist locally with the tag: "
                       f"{location.familiar}") from None
    config_bytes = store.config_bytes(image_id)
    diff_ids = (json.loads(config_bytes).get("rootfs") or {}).get("diff_ids") or []
    chains = store.layers(image_id)
    say(f"The push refers to repository [{location.canonical_name}]")
    for diff_id in reversed(diff_ids):
        say(f"{diff_id[7:19]}: Preparing")
    blobs = [compressed_layer(store, chain, diff_id)
             for chain, diff_id in zip(chains, diff_ids, strict=True)]
    credentials = Credentials(engine.paths).get(location.registry)
    with Client(location, credentials, insecure, actions=("pull", "push")) as client:
        for diff_id, (digest, size) in reversed(list(zip(diff_ids, blobs, strict=True))):
            if client.has_blob(digest):
                say(f"{diff_id[7:19]}: Layer already exists")
                continue
            with open(store.blob_path(digest), "rb") as body:
                client.upload_blob(digest, size, body)
            say(f"{diff_id[7:19]}: Pushed")
        if not client.has_blob(image_id):
            client.upload_blob(image_id, len(config_bytes), config_bytes)
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": MANIFEST_OCI,
            "config": {"mediaType": CONFIG_OCI, "digest": image_id, "size": len(config_bytes)},
            "layers": [{"mediaType": LAYER_OCI_GZIP, "digest": digest, "size": size}
                       for digest, size in blobs],
        }, separators=(",", ":")).encode()
        digest = client.put_manifest(location.tag, manifest, MANIFEST_OCI)
    with store.lock():
        if store.exists(image_id):      # what it was pushed as: its RepoDigests entry
            store.add_digest(image_id, f"{location.familiar}@{digest}")
    say(f"{location.tag}: digest: {digest} size: {len(manifest)}")
    from runtime import events
    events.image(engine, "push", location.familiar_reference, location.familiar,
                 events.image_labels(store, image_id))
    return digest
