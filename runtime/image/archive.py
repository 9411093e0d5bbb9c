"""Moving images and file systems as tar archives.

- `import`: a root file system tar -> a one-layer image (history starts there).
- `export`: a container's file system -> a flat tar.
- `save`/`load`: images with their layers and history, in Docker's format (an OCI image layout
  plus the legacy `manifest.json`, layers uncompressed), loadable by `docker load` and back;
  `save --format oci-archive` writes the OCI layout alone, and `load` also reads OCI
  archives and layout directories (oci_layout.py), with gzip, zstd or plain layers.

An archive to load is hostile input: its member names are only used as keys to find the files
that `manifest.json` names, nothing is extracted by name, every layer goes through the safe
unpacker, and every layer must hash to the diff ID its config declares.
"""

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile

from runtime import events
from runtime.container.state import rfc3339_ns
from runtime.errors import InvalidArgument, MoorError
from runtime.image import layers
from runtime.image.layer_pack import pack_layer
from runtime.image.layer_unpack import unpack_layer

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
MAX_METADATA = 16 << 20


def import_tar(engine, stream, reference: str | None = None, message: str | None = None,
               changes=()) -> str:
    """`moor import`: the tar's file system as a one-layer image. The layer is stored in the
    engine's canonical form, so its diff ID is that of the canonical tar."""
    import platform

    from runtime.image import commit, reference as refs
    from runtime.image.bootstrap import ARCHITECTURES
    if reference:
        refs.parse(reference)
    engine.paths.ensure()
    store = engine.store
    with store.staging_dir("import-") as staging:
        target = os.path.join(staging, "diff")
        os.mkdir(target)
        unpack_layer(stream, target)
        created = rfc3339_ns()
        config = {
            "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
            "os": "linux",
            "created": created,
            "config": commit.apply_changes({}, changes),
            "history": [{"created": created, "created_by": "moor import",
                         **({"comment": message} if message else {})}],
        }
        with store.lock():
            diff_id, _ = layers.add_directory(store, target, parent_chain=None)
            config["rootfs"] = {"type": "layers", "diff_ids": [diff_id]}
            image_id = store.add_image(
                json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
            if reference:
                tagged = store.tag(image_id, reference)
    labels = events.image_labels(store, image_id)
    if reference:
        events.image(engine, "tag", image_id, tagged, labels)
    events.image(engine, "import", image_id, image_id, labels)
    return image_id


def export(engine, container, out) -> None:
    """`moor export`: the container's whole file system as one flat tar on `out`."""
    from runtime.container import rootfs
    links = [engine.store.layer_link(chain) for chain in container.config["Layers"]]
    with rootfs.mounted(engine.paths.root, container.dir, links) as merged:
        pack_layer(merged, out)
    events.container(engine, container, "export")


# -- save --------------------------------------------------------------------------------------

def _layer_file(engine, chain_id: str, diff_id: str, scratch: str) -> str:
    """A file holding the layer's uncompressed tar, whose sha256 is `diff_id`."""
    store = engine.store
    info = store.layer_info(chain_id)
    path = os.path.join(scratch, diff_id[7:] + ".tar")
    source = info.get("source") or {}
    if source.get("digest") and store.has_blob(source["digest"]):
        from runtime.image.layer_unpack import decompressed
        with open(store.blob_path(source["digest"]), "rb") as raw, open(path, "wb") as out:
            shutil.copyfileobj(decompressed(raw), out, 1 << 20)
    else:
        with open(path, "wb") as out:
            pack_layer(store.layer_diff(chain_id), out)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if "sha256:" + digest.hexdigest() != diff_id:
        raise MoorError(f"layer {diff_id[:19]} no longer matches its digest: the store is "
                        "damaged (remove and re-create the image)")
    return path


SAVE_FORMATS = ("docker-archive", "oci-archive")


def _saved_names(store, ref: str, image_id: str) -> list[str]:
    """The tag a `save` argument names, if it is one of the image's (an ID names none)."""
    from runtime.image import reference as refs
    try:
        parsed = str(refs.parse(ref))
    except MoorError:
        return []
    return [parsed] if parsed in store.tags_of(image_id) else []


def save(engine, references: list[str], out, format: str = "docker-archive") -> None:
    """`moor save`: the images, their layers uncompressed, as one tar on `out`.
    `docker-archive` (Docker's own: an OCI image layout plus `manifest.json`, loadable by
    `docker load`, podman and skopeo) or `oci-archive` (the OCI image layout alone, as
    `podman save --format oci-archive` and skopeo's oci-archive: write it, each image named
    by its `org.opencontainers.image.ref.name`)."""
    if format not in SAVE_FORMATS:
        raise InvalidArgument(f"unknown archive format {format!r}: docker-archive or "
                              "oci-archive")
    store = engine.store
    images = []
    for ref in references:
        image_id = store.resolve(ref)
        images.append((image_id, _saved_names(store, ref, image_id)))
    from runtime import staging
    from runtime.image import oci_layout
    with staging.working_dir(engine.paths.tmp, "save-") as scratch, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        written = set()

        def add_bytes(name, data):
            if name in written:
                return
            written.add(name)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o444
            tar.addfile(info, io.BytesIO(data))

        def add_file(name, path):
            if name in written:
                return
            written.add(name)
            info = tar.gettarinfo(path, arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as f:
                tar.addfile(info, f)

        manifest, index, repositories = [], [], {}
        for image_id, tags in images:
            config_bytes = store.config_bytes(image_id)
            config = json.loads(config_bytes)
            add_bytes(f"blobs/sha256/{image_id[7:]}", config_bytes)
            diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
            descriptors = []
            for chain_id, diff_id in zip(store.layers(image_id), diff_ids, strict=True):
                path = _layer_file(engine, chain_id, diff_id, scratch)
                add_file(f"blobs/sha256/{diff_id[7:]}", path)
                descriptors.append({"mediaType": LAYER_TYPE, "digest": diff_id,
                                    "size": os.path.getsize(path)})
                os.unlink(path)
            oci_manifest = json.dumps({
                "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": CONFIG_TYPE, "digest": image_id,
                           "size": len(config_bytes)},
                "layers": descriptors,
            }, separators=(",", ":")).encode()
            manifest_digest = "sha256:" + hashlib.sha256(oci_manifest).hexdigest()
            add_bytes(f"blobs/sha256/{manifest_digest[7:]}", oci_manifest)
            for tag in tags or [None]:
                entry = {"mediaType": MANIFEST_TYPE, "digest": manifest_digest,
                         "size": len(oci_manifest)}
                if tag:
                    name, _, version = tag.rpartition(":")
                    entry["annotations"] = oci_layout.annotations(tag, format)
                    repositories.setdefault(name, {})[version] = image_id[7:]
                index.append(entry)
            manifest.append({"Config": f"blobs/sha256/{image_id[7:]}", "RepoTags": tags,
                             "Layers": [f"blobs/sha256/{d[7:]}" for d in diff_ids]})
        add_bytes("oci-layout", oci_layout.LAYOUT_FILE)
        add_bytes("index.json", json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE,
                                            "manifests": index}).encode())
        if format == "docker-archive":
            add_bytes("manifest.json", json.dumps(manifest).encode())
            if repositories:
                add_bytes("repositories", json.dumps(repositories).encode())
    for image_id, _ in images:
        events.image(engine, "save", image_id, image_id, events.image_labels(store, image_id))


# -- load --------------------------------------------------------------------------------------

def _normalize(name: str) -> str:
    return os.path.normpath("/" + name).lstrip("/")


class Members:
    """The files of an archive to load, by their cleaned names: a tar's members copied into
    a private directory (nothing is extracted by its own name), or an OCI layout directory's
    regular files (symlinks are not followed)."""

    def __init__(self, paths: dict[str, str]):
        self.paths = paths

    @classmethod
    def of_tar(cls, stream, scratch: str) -> "Members":
        paths = {}
        try:
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                for number, member in enumerate(tar):
                    if not member.isfile():
                        continue
                    path = os.path.join(scratch, f"member-{number}")
                    with open(path, "wb") as out:
                        shutil.copyfileobj(tar.extractfile(member), out, 1 << 20)
                    paths[_normalize(member.name)] = path
        except tarfile.TarError as error:
            raise InvalidArgument(f"invalid image archive: {error}") from None
        return cls(paths)

    @classmethod
    def of_directory(cls, directory: str) -> "Members":
        paths = {}
        for parent, _directories, files in os.walk(directory):
            for name in files:
                path = os.path.join(parent, name)
                if not os.path.islink(path) and os.path.isfile(path):
                    paths[_normalize(os.path.relpath(path, directory))] = path
        return cls(paths)

    def path(self, name) -> str | None:
        return self.paths.get(_normalize(name)) if isinstance(name, str) else None

    def read(self, name: str, limit: int = MAX_METADATA) -> bytes:
        path = self.path(name)
        if path is None:
            raise InvalidArgument(f"invalid image archive: {name!r} is missing")
        if os.path.getsize(path) > limit:
            raise InvalidArgument(f"invalid image archive: {name!r} is too large")
        with open(path, "rb") as f:
            return f.read()

    def __contains__(self, name: str) -> bool:
        return _normalize(name) in self.paths


def load(engine, source) -> list[str]:
    """`moor load`: images from an archive (a stream) or an OCI layout (a directory's path):
    Docker's archive (`docker save`, `moor save`, skopeo's docker-archive:), an OCI archive
    (`podman save --format oci-archive`, skopeo's oci-archive:) or layout (oci:). Names
    come back in their familiar form (`docker.io/library/x:1` is `x:1`). Returns what it
    loaded, as `Loaded image: name:tag` / `Loaded image ID: sha256:...` lines."""
    from runtime import staging
    from runtime.image import oci_layout
    engine.paths.ensure()
    with staging.working_dir(engine.paths.tmp, "load-") as scratch:
        members = Members.of_directory(source) if isinstance(source, str) else \
            Members.of_tar(source, scratch)
        if "manifest.json" in members:
            images = _docker_images(members)
        elif "index.json" in members:
            images = oci_layout.images(members)
        else:
            raise InvalidArgument("invalid image archive: it has neither manifest.json (a "
                                  "Docker archive) nor index.json (an OCI layout)")
        loaded = []
        for image in images:
            loaded.extend(_load_image(engine, members, image))
        return loaded


def _docker_images(members: Members) -> list[dict]:
    """The images `manifest.json` lists: {"config": bytes, "layers": [(name, None)], "tags"}."""
    try:
        manifest = json.loads(members.read("manifest.json"))
    except ValueError:
        raise InvalidArgument("invalid image archive: manifest.json is not JSON") from None
    if not isinstance(manifest, list):
        raise InvalidArgument("invalid image archive: manifest.json is not a list")
    images = []
    for entry in manifest:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise InvalidArgument("invalid image archive: bad manifest entry")
        layers = entry.get("Layers") or []
        if not isinstance(layers, list):
            raise InvalidArgument("invalid image archive: bad manifest entry")
        images.append({"config": members.read(entry["Config"]),
                       "layers": [(name, None) for name in layers],
                       "tags": entry.get("RepoTags") or []})
    return images


def _load_image(engine, members: Members, image: dict) -> list[str]:
    """Unpack and register one image (its layers each checked against the config's diff
    ID, and against its descriptor's digest when it has one), then name it."""
    from runtime.image import reference as refs
    store = engine.store
    try:
        config = json.loads(image["config"])
    except ValueError:
        raise InvalidArgument("invalid image archive: the config is not JSON") from None
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(image["layers"]) != len(diff_ids):
        raise InvalidArgument(f"invalid image archive: {len(image['layers'])} layers but "
                              f"the config lists {len(diff_ids)}")
    tags = []
    for tag in image["tags"]:
        if not isinstance(tag, str):
            raise InvalidArgument("invalid image archive: a name is not text")
        tags.append(str(refs.parse(tag)))
    with store.lock():
        added = []      # (chain, blob) this image brought: taken out again if it fails
        try:
            parent_chain = None
            for (name, digest), diff_id in zip(image["layers"], diff_ids, strict=True):
                path = members.path(name)
                if path is None:
                    raise InvalidArgument(f"invalid image archive: layer {name!r} is "
                                          "missing")
                parent_chain = _load_layer(store, path, diff_id, parent_chain, digest, added)
            image_id = store.add_image(image["config"])
        except BaseException:
            for chain, blob in reversed(added):
                store.remove_layer(chain)
                if blob:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(store.blob_path(blob))
            raise
        for tag in tags:
            store.tag(image_id, tag)
    events.image(engine, "load", image_id, image_id, events.image_labels(store, image_id))
    return [f"Loaded image: {tag}" for tag in tags] or [f"Loaded image ID: {image_id}"]


def _load_layer(store, path: str, diff_id: str, parent_chain: str | None,
                digest: str | None, added: list) -> str:
    """Unpack one layer archive (any compression) and check it is the declared layer (and
    the blob its descriptor names, given its `digest`); what it adds to the store goes on
    `added` as (chain ID, blob digest or None)."""
    from runtime.image.store import sha256_hex
    chain_id = diff_id if parent_chain is None else \
        "sha256:" + sha256_hex(f"{parent_chain} {diff_id}".encode())
    if store.has_layer(chain_id):
        return chain_id
    hashed = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hashed.update(block)
    blob = "sha256:" + hashed.hexdigest()
    if digest is not None and blob != digest:
        raise InvalidArgument(f"invalid image archive: blob {digest} does not match its "
                              "digest")
    with open(path, "rb") as f:
        got_diff, got_chain, _ = layers.add_archive(
            store, f, parent_chain, source={"digest": blob, "mediaType": LAYER_TYPE})
    if got_diff != diff_id:
        store.remove_layer(got_chain)
        raise InvalidArgument(f"invalid image archive: a layer hashes to {got_diff}, the "
                              f"config says {diff_id}")
    new_blob = not store.has_blob(blob)
    store.put_blob_file(path, blob)
    added.append((got_chain, blob if new_blob else None))
    return got_chain
