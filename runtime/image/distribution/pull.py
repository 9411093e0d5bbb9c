"""`moor pull`: an image from a registry into the store.

Resolve the reference to one image manifest (picking linux/<host arch> from an index), fetch
the config, and download each layer the store lacks into tmp/, checking its digest and size
as the bytes arrive: nothing unverified is ever unpacked. Then, under the store lock, each
layer is unpacked once (safely, by `layers.add_archive`, keeping the compressed blob as the
layer's source) and the diff ID the unpacker computed in that same pass is checked against
the config's; the config is registered exactly as received and the reference tagged. If
anything fails, the layers and blobs this pull added are removed before the lock is
released, so no one sees them and the store is left as it was. A layer is always stored
under the chain ID of its real content, so even a crash in between leaves nothing worse
than an unused, correctly named layer.
"""

import hashlib
import json
import os

from runtime.image.distribution.client import (
    CHUNK,
    CONFIG_DOCKER,
    CONFIG_OCI,
    INDEX_TYPES,
    LAYER_OCI,
    LAYER_OCI_GZIP,
    LAYER_OCI_ZSTD,
    SCHEMA1_TYPES,
    Client,
    ManifestUnknown,
    RegistryError,
    VerificationFailed,
    check_digest,
)
from runtime.image.distribution.credentials import Credentials
from runtime.image.distribution.names import locate
from runtime.image.store import chain_ids

# Go's names for the host's architecture, and the variant an index may ask for.
PLATFORMS = {"x86_64": ("amd64", None), "amd64": ("amd64", None),
             "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
             "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
             "i686": ("386", None), "i386": ("386", None),
             "ppc64le": ("ppc64le", None), "s390x": ("s390x", None),
             "riscv64": ("riscv64", None)}
LAYER_TYPES = {
    LAYER_OCI_GZIP: LAYER_OCI_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar.gzip": LAYER_OCI_GZIP,
    LAYER_OCI: LAYER_OCI,
    "application/vnd.docker.image.rootfs.diff.tar": LAYER_OCI,
    LAYER_OCI_ZSTD: LAYER_OCI_ZSTD,
}
DOWNLOADS_AT_ONCE = 3
FOREIGN_TYPES = ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar")


def host_platform() -> tuple[str, str | None]:
    """(architecture, variant) of this host in Go's names, as image indexes use them."""
    machine = os.uname().machine
    return PLATFORMS.get(machine, (machine, None))


def _verification_failed(digest: str) -> VerificationFailed:
    return VerificationFailed(f"filesystem layer verification failed for digest {digest}")


# --------------------------------------------------------------------------- manifests

def _json_object(data: bytes, what: str) -> dict:
    try:
        document = json.loads(data)
    except ValueError:
        raise RegistryError(f"the {what} is not JSON") from None
    if not isinstance(document, dict):
        raise RegistryError(f"the {what} is not a JSON object")
    return document


def _descriptor(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise RegistryError(f"the manifest's {what} is not a descriptor")
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError(f"the manifest's {what} has no valid size")
    media_type = value.get("mediaType")
    return {"digest": check_digest(value.get("digest"), f"{what} digest"), "size": size,
            "mediaType": media_type if isinstance(media_type, str) else ""}


def choose_platform(index: dict) -> dict:
    """The entry of an image index for linux/<host arch> (and its variant, when the host
    has one); attestation entries (unknown/unknown) and other platforms are passed over."""
    architecture, variant = host_platform()
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise RegistryError("the image index has no manifest list")
    candidates = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("platform"), dict):
            continue
        wanted = entry["platform"]
        if wanted.get("os") != "linux" or wanted.get("architecture") != architecture:
            continue
        if variant and wanted.get("variant") not in (None, "", variant):
            continue
        candidates.append(entry)
    # An exact variant beats an entry that names none.
    candidates.sort(key=lambda e: e["platform"].get("variant") != variant)
    if not candidates:
        available = sorted({f"{e['platform'].get('os')}/{e['platform'].get('architecture')}"
                            for e in entries if isinstance(e, dict)
                            and isinstance(e.get("platform"), dict)})
        raise ManifestUnknown(
            f"no matching manifest for linux/{architecture} in the manifest list entries"
            + (f" (it has {', '.join(available)})" if available else ""))
    return candidates[0]


def _kind(document: dict, manifest) -> str:
    media_type = document.get("mediaType") or manifest.media_type
    if document.get("schemaVersion") == 1 or media_type in SCHEMA1_TYPES:
        raise RegistryError("schema 1 manifests are not supported: push the image "
                            "again with a current client")
    if document.get("schemaVersion") != 2:
        raise RegistryError("the manifest is not a schema 2 manifest")
    if media_type in INDEX_TYPES or ("manifests" in document and "layers" not in document):
        return "index"
    return "image"


def resolve(client, location) -> tuple[str, dict]:
    """The digest the reference resolved to (an index's, when it is one) and the image
    manifest for this host."""
    manifest = client.get_manifest(location.reference)
    document = _json_object(manifest.data, "manifest")
    if _kind(document, manifest) == "index":
        entry = choose_platform(document)
        chosen = client.get_manifest(check_digest(entry.get("digest"), "manifest digest"))
        image = _json_object(chosen.data, "manifest")
        if _kind(image, chosen) != "image":
            raise RegistryError("the image index points at another index")
        return manifest.digest, image
    return manifest.digest, document


def _layers_of(manifest: dict) -> list[dict]:
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise RegistryError("the manifest has no layer list")
    result = []
    for number, value in enumerate(layers):
        layer = _descriptor(value, f"layer {number + 1}")
        media_type = layer["mediaType"]
        if media_type in FOREIGN_TYPES:
            raise RegistryError(f"layer {layer['digest']} is a foreign layer "
                                f"({media_type}); those are not supported")
        if media_type and media_type not in LAYER_TYPES:
            raise RegistryError(f"layer {layer['digest']} has an unknown media "
                                f"type {media_type!r}")
        result.append(layer)
    return result


def _diff_ids_of(config_bytes: bytes, count: int) -> list[str]:
    config = _json_object(config_bytes, "image config")
    if config.get("os", "linux") != "linux":
        raise RegistryError(f"image operating system {config.get('os')!r} cannot "
                            "be used on this platform")
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list):
        raise RegistryError("the image config has no rootfs.diff_ids")
    if len(diff_ids) != count:
        raise RegistryError(f"the manifest lists {count} layers but the image "
                            f"config {len(diff_ids)}")
    return [check_digest(d, "diff ID") for d in diff_ids]


# --------------------------------------------------------------------------- downloads

class _Stopped(Exception):
    """Another download failed: this one gives up."""


def download_layer(client, layer: dict, path: str, stop=None) -> None:
    """Write the layer blob to `path`, refusing it unless its bytes hash to the digest the
    manifest names and it has the size the manifest says. `stop`, an Event, ends it early."""
    digest, size = layer["digest"], layer["size"]
    response = client.open_blob(digest)
    blob = hashlib.sha256()
    received = 0
    try:
        with open(path, "wb") as out:
            while True:
                if stop is not None and stop.is_set():
                    raise _Stopped()
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > size:
                    raise _verification_failed(digest)
                blob.update(chunk)
                out.write(chunk)
    except OSError as error:
        raise client.vouched(response, RegistryError(
            f"download of layer {digest} failed: {error}")) from None
    except VerificationFailed as error:
        raise client.vouched(response, error) from None
    finally:
        response.close()
    if received != size or "sha256:" + blob.hexdigest() != digest:
        raise client.vouched(response, _verification_failed(digest))


def download_layers(client, jobs: list[tuple[dict, str]], say) -> None:
    """Download each (layer, path), up to DOWNLOADS_AT_ONCE side by side on connections of
    their own, as Docker does; the first failure stops the others and is raised."""
    if len(jobs) == 1:
        layer, path = jobs[0]
        download_layer(client, layer, path)
        say(f"{layer['digest'][7:19]}: Download complete")
        return
    import threading
    pending = list(reversed(jobs))
    lock = threading.Lock()
    stop = threading.Event()
    failures = []

    def work(worker):
        try:
            while not stop.is_set():
                with lock:
                    if not pending:
                        return
                    layer, path = pending.pop()
                download_layer(worker, layer, path, stop)
                with lock:
                    say(f"{layer['digest'][7:19]}: Download complete")
        except _Stopped:
            pass
        except BaseException as error:
            failures.append(error)
            stop.set()
        finally:
            if worker is not client:
                worker.close()

    workers = [threading.Thread(target=work, args=(client if n == 0 else client.sibling(),))
               for n in range(min(DOWNLOADS_AT_ONCE, len(jobs)))]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    except BaseException:
        stop.set()
        for worker in workers:
            if worker.is_alive():
                worker.join()
        raise
    if failures:
        raise failures[0]


# --------------------------------------------------------------------------- the pull

def pull(engine, text: str, progress=None, insecure: bool = False, policy=None) -> str:
    """Pull `text` into the engine's store; returns the image ID. `progress` is called with
    each of Docker's progress lines. `policy` (an AddressPolicy) limits where the pull may
    connect, for a pull made on someone else's behalf (policy.py)."""
    say = progress or (lambda line: None)
    location = locate(text)
    engine.paths.ensure()
    store = engine.store
    credentials = Credentials(engine.paths).get(location.registry)
    if not location.tag_typed and not location.digest:
        say(f"Using default tag: {location.tag}")
    say(f"{location.reference}: Pulling from {location.repository}")
    tag = None if location.digest else location.familiar_reference
    with Client(location, credentials, insecure, policy=policy) as client:
        if policy is not None:
            client.check_registry()
        top_digest, manifest = resolve(client, location)
        config = _descriptor(manifest.get("config"), "config")
        if config["mediaType"] not in ("", CONFIG_OCI, CONFIG_DOCKER):
            raise RegistryError(
                f"{location.familiar_reference} is not a container image (its config is "
                f"{config['mediaType']!r})")
        layers = _layers_of(manifest)
        image_id = config["digest"]
        # What the image was pulled as: its RepoDigests entry.
        names = (tag, f"{location.familiar}@{top_digest}")
        existed = store.exists(image_id)
        if existed:
            for layer in layers:
                say(f"{layer['digest'][7:19]}: Already exists")
            with store.lock():
                previous = _name(store, image_id, names)
        else:
            config_bytes = client.fetch_blob(image_id, config["size"])
            diff_ids = _diff_ids_of(config_bytes, len(layers))
            previous = _fetch_and_register(client, store, layers, diff_ids, config_bytes,
                                           names, say)
    say(f"Digest: {top_digest}")
    from runtime import events
    events.image(engine, "pull", location.familiar_reference, location.familiar,
                 events.image_labels(store, image_id))
    if existed and previous == image_id:
        say(f"Status: Image is up to date for {location.familiar_reference}")
    else:
        say(f"Status: Downloaded newer image for {location.familiar_reference}")
    return image_id


def _name(store, image_id: str, names: tuple) -> str | None:
    """Point the tag (None for a pull by digest) and the digest reference of `names` at the
    image; returns the image the tag pointed at before. Lock held."""
    tag, digest_reference = names
    store.add_digest(image_id, digest_reference)
    if tag is None:
        return image_id
    previous = store.references().get(tag)
    store.tag(image_id, tag)
    return previous


def _fetch_and_register(client, store, layers: list[dict], diff_ids: list[str],
                        config_bytes: bytes, names: tuple, say) -> str | None:
    chains = chain_ids(diff_ids)
    missing = [not store.has_layer(chain) for chain in chains]
    for layer, needed in zip(layers, missing, strict=True):
        say(f"{layer['digest'][7:19]}: {'Pulling fs layer' if needed else 'Already exists'}")
    with store.staging_dir("pull-") as staging:
        files = {number: os.path.join(staging, f"layer-{number}")
                 for number, needed in enumerate(missing) if needed}
        if files:
            download_layers(client, [(layers[n], path) for n, path in files.items()], say)
        with store.lock():
            image_id = _register(store, layers, diff_ids, chains, files, config_bytes, say)
            return _name(store, image_id, names)


def _register(store, layers, diff_ids, chains, files, config_bytes, say) -> str:
    """Unpack the verified downloads and register the image, all or nothing. Lock held."""
    from runtime.image import layers as layer_store
    added_layers, added_blobs = [], []
    try:
        parent = None
        for number, (layer, diff_id, chain) in enumerate(
                zip(layers, diff_ids, chains, strict=True)):
            if number in files and not store.has_layer(chain):
                media_type = LAYER_TYPES.get(layer["mediaType"], LAYER_OCI_GZIP)
                with open(files[number], "rb") as blob:
                    got_diff, got_chain, _ = layer_store.add_archive(
                        store, blob, parent,
                        source={"digest": layer["digest"], "mediaType": media_type})
                added_layers.append(got_chain)
                if got_diff != diff_id:
                    raise VerificationFailed(
                        f"layer {layer['digest']} does not match the image config: its "
                        f"content hashes to {got_diff}, the config says {diff_id}")
                if not store.has_blob(layer["digest"]):
                    store.put_blob_file(files[number], layer["digest"])
                    added_blobs.append(layer["digest"])
                say(f"{layer['digest'][7:19]}: Pull complete")
            parent = chain
        return store.add_image(config_bytes)
    except BaseException:
        for chain in reversed(added_layers):
            store.remove_layer(chain)
        for digest in added_blobs:
            try:
                os.unlink(store.blob_path(digest))
            except FileNotFoundError:
                pass
        raise
