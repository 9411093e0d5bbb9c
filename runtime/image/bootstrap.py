"""The offline base image: `busybox:latest` made from the distribution's busybox-static.

Nothing needs a registry to start: this image has a shell and the usual tools. Debian's
busybox-static is glibc linked statically, and glibc resolves host names through its NSS
modules, which it loads at run time; so the image also carries the host's matching libc, loader
and NSS modules (`files`, `dns`) and an nsswitch.conf, and `wget`, `ping` and `nc` resolve names
inside it like anywhere else.
"""

import json
import os
import platform
import shutil
import subprocess

from runtime.errors import MoorError

BUSYBOX = "/usr/bin/busybox"
PACKAGE = "busybox-static"
LIBRARY_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
NSS_LIBRARIES = ("libc.so.6", "libnss_files.so.2", "libnss_dns.so.2", "libresolv.so.2")
LOADERS = ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1")

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
users:x:100:
nogroup:x:65533:
nobody:x:65534:
"""
NSSWITCH = "hosts: files dns\nnetworks: files\npasswd: files\ngroup: files\n"
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


def ensure_busybox() -> str:
    """The static busybox binary, installing the distribution package when it is missing."""
    if not _is_static_busybox(BUSYBOX):
        try:
            subprocess.run(["apt-get", "install", "-y", "-q", PACKAGE], check=True,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        except (OSError, subprocess.CalledProcessError) as error:
            raise MoorError(f"{BUSYBOX} is missing and installing {PACKAGE} failed: "
                            f"{getattr(error, 'stderr', b'') or error}") from None
    if not _is_static_busybox(BUSYBOX):
        raise MoorError(f"{BUSYBOX} is not a statically linked busybox (install {PACKAGE})")
    return BUSYBOX


def _is_static_busybox(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            header = f.read(4096)
    except OSError:
        return False
    # A dynamically linked ELF names its interpreter in a PT_INTERP segment.
    return header.startswith(b"\x7fELF") and b"ld-linux" not in header


def _find_library(name: str) -> str | None:
    for directory in LIBRARY_DIRS:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    return None


def build_rootfs(target: str) -> str:
    """Fill the empty directory `target` with the busybox root file system. Returns a short
    description of what it was made from (for the image's history)."""
    busybox = ensure_busybox()
    stamp = int(os.stat(busybox).st_mtime)
    for directory, mode in (("bin", 0o755), ("sbin", 0o755), ("usr", 0o755),
                            ("usr/bin", 0o755), ("usr/sbin", 0o755), ("etc", 0o755),
                            ("root", 0o700), ("home", 0o755), ("tmp", 0o1777), ("var", 0o755),
                            ("var/www", 0o755), ("var/spool", 0o755),
                            ("var/spool/mail", 0o755), ("dev", 0o755), ("proc", 0o755),
                            ("sys", 0o755), ("lib", 0o755)):
        os.makedirs(os.path.join(target, directory), exist_ok=True)
        os.chmod(os.path.join(target, directory), mode)
    shutil.copy2(busybox, os.path.join(target, "bin", "busybox"))
    os.chmod(os.path.join(target, "bin", "busybox"), 0o755)
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox" and "/" not in applet:
            link = os.path.join(target, "bin", applet)
            if not os.path.lexists(link):
                os.symlink("busybox", link)
    files = {"etc/passwd": PASSWD, "etc/group": GROUP, "etc/nsswitch.conf": NSSWITCH,
             "etc/shadow": "root:*:10933:0:99999:7:::\n"}
    for name, text in files.items():
        with open(os.path.join(target, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(target, name), 0o640 if name == "etc/shadow" else 0o644)

    libraries = []
    for name in NSS_LIBRARIES:
        source = _find_library(name)
        if source is None:
            continue
        directory = os.path.dirname(source)
        relative = os.path.join(target, directory.lstrip("/"))
        os.makedirs(relative, exist_ok=True)
        shutil.copyfile(os.path.realpath(source), os.path.join(relative, name))
        os.chmod(os.path.join(relative, name), 0o755)
        libraries.append(name)
    for loader in LOADERS:
        if os.path.exists(loader):
            destination = os.path.join(target, loader.lstrip("/"))
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            shutil.copyfile(os.path.realpath(loader), destination)
            os.chmod(destination, 0o755)
            libraries.append(os.path.basename(loader))

    # Reproducible: every entry gets the busybox package's time, so the same package makes
    # the same image ID on every host.
    for directory, subdirs, filenames in os.walk(target, topdown=False):
        for name in subdirs + filenames:
            os.utime(os.path.join(directory, name), (stamp, stamp), follow_symlinks=False)
    os.utime(target, (stamp, stamp))
    version = subprocess.run([busybox], capture_output=True, text=True).stdout.split("\n")[0]
    return f"{version.strip()} with {', '.join(libraries) or 'no NSS libraries'}"


def image_config(diff_id: str, description: str, created: str) -> bytes:
    config = {
        "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": created,
        "author": "moor image bootstrap",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created,
                     "created_by": f"moor image bootstrap busybox ({description})"}],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
