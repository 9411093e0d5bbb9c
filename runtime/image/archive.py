"""Moving images and file systems as tar archives.

- `import`: a root file system tar -> a one-layer image (history starts there).
- `export`: a container's file system -> a flat tar.
- `save`/`load`: images with their layers and history, in Docker's format (an OCI image layout
  plus the legacy `manifest.json`, layers uncompressed), loadable by `docker load` and back.

An archive to load is hostile input: its member names are only used as keys to find the files
that `manifest.json` names, nothing is extracted by name, every layer goes through the safe
unpacker, and every layer must hash to the diff ID its config declares.
"""

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
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
MAX_METADATA = 16 << 20


def import_tar(engine, stream, reference: str | None = None, message: str | None = None,
               changes=()) -> str:
    """`moor import`: the tar's file system as a one-layer image. The layer is stored in the
    engine's canonical form, so its diff ID is that of the canonical tar."""
    from runtime.image import commit, reference as refs
    import platform
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


def save(engine, references: list[str], out) -> None:
    store = engine.store
    images = []
    for ref in references:
        image_id = store.resolve(ref)
        tags = [ref] if ref in store.tags_of(image_id) else []
        from runtime.image import reference as refs
        try:
            parsed = str(refs.parse(ref))
            if parsed in store.tags_of(image_id):
                tags = [parsed]
        except MoorError:
            pass
        images.append((image_id, tags))
    from runtime import staging
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
            for chain_id, diff_id in zip(store.layers(image_id), diff_ids):
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
                    entry["annotations"] = {"io.containerd.image.name": tag,
                                            "org.opencontainers.image.ref.name": version}
                    repositories.setdefault(name, {})[version] = image_id[7:]
                index.append(entry)
            manifest.append({"Config": f"blobs/sha256/{image_id[7:]}", "RepoTags": tags,
                             "Layers": [f"blobs/sha256/{d[7:]}" for d in diff_ids]})
        add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_bytes("index.json", json.dumps({"schemaVersion": 2, "mediaType":
                                            "application/vnd.oci.image.index.v1+json",
                                            "manifests": index}).encode())
        add_bytes("manifest.json", json.dumps(manifest).encode())
        if repositories:
            add_bytes("repositories", json.dumps(repositories).encode())
    for image_id, _ in images:
        events.image(engine, "save", image_id, image_id, events.image_labels(store, image_id))


# -- load --------------------------------------------------------------------------------------

def _normalize(name: str) -> str:
    return os.path.normpath("/" + name).lstrip("/")


def load(engine, stream) -> list[str]:
    """`moor load`: images from a `save` (or `docker save`) archive. Returns what it loaded,
    as `Loaded image: name:tag` / `Loaded image ID: sha256:...` lines."""
    from runtime.image import reference as refs
    engine.paths.ensure()
    store = engine.store
    from runtime import staging
    with staging.working_dir(engine.paths.tmp, "load-") as scratch:
        members: dict[str, str] = {}
        try:
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                for number, member in enumerate(tar):
                    if not member.isfile():
                        continue
                    name = _normalize(member.name)
                    path = os.path.join(scratch, f"member-{number}")
                    source = tar.extractfile(member)
                    with open(path, "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
                    members[name] = path
        except tarfile.TarError as error:
            raise InvalidArgument(f"invalid image archive: {error}") from None

        def read_member(name: str, limit: int = MAX_METADATA) -> bytes:
            path = members.get(_normalize(name))
            if path is None:
                raise InvalidArgument(f"invalid image archive: {name!r} is missing")
            if os.path.getsize(path) > limit:
                raise InvalidArgument(f"invalid image archive: {name!r} is too large")
            with open(path, "rb") as f:
                return f.read()

        try:
            manifest = json.loads(read_member("manifest.json"))
        except ValueError:
            raise InvalidArgument("invalid image archive: manifest.json is not JSON") from None
        if not isinstance(manifest, list):
            raise InvalidArgument("invalid image archive: manifest.json is not a list")
        loaded = []
        for entry in manifest:
            if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
                raise InvalidArgument("invalid image archive: bad manifest entry")
            config_bytes = read_member(entry["Config"])
            try:
                config = json.loads(config_bytes)
            except ValueError:
                raise InvalidArgument("invalid image archive: the config is not JSON") from None
            diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
            layer_names = entry.get("Layers") or []
            if len(layer_names) != len(diff_ids):
                raise InvalidArgument(f"invalid image archive: {len(layer_names)} layers but "
                                      f"the config lists {len(diff_ids)}")
            tags = [str(refs.parse(tag)) for tag in entry.get("RepoTags") or []]
            with store.lock():
                parent_chain = None
                for name, diff_id in zip(layer_names, diff_ids):
                    path = members.get(_normalize(name)) if isinstance(name, str) else None
                    if path is None:
                        raise InvalidArgument(f"invalid image archive: layer {name!r} is "
                                              "missing")
                    parent_chain = _load_layer(store, path, diff_id, parent_chain)
                image_id = store.add_image(config_bytes)
                for tag in tags:
                    store.tag(image_id, tag)
            events.image(engine, "load", image_id, image_id, events.image_labels(store, image_id))
            loaded.extend(f"Loaded image: {tag}" for tag in tags)
            if not tags:
                loaded.append(f"Loaded image ID: {image_id}")
        return loaded


def _load_layer(store, path: str, diff_id: str, parent_chain: str | None) -> str:
    """Unpack one layer archive (any compression) and check it is the declared layer."""
    from runtime.image.store import sha256_hex
    chain_id = diff_id if parent_chain is None else \
        "sha256:" + sha256_hex(f"{parent_chain} {diff_id}".encode())
    if store.has_layer(chain_id):
        return chain_id
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    blob = "sha256:" + digest.hexdigest()
    with open(path, "rb") as f:
        got_diff, got_chain, _ = layers.add_archive(
            store, f, parent_chain, source={"digest": blob, "mediaType": LAYER_TYPE})
    if got_diff != diff_id:
        store.remove_layer(got_chain)
        raise InvalidArgument(f"invalid image archive: a layer hashes to {got_diff}, the "
                              f"config says {diff_id}")
    store.put_blob_file(path, blob)
    return got_chain
