"""The seccomp profile compiled once into BPF, for crun's `run.oci.seccomp_bpf_data`.

crun compiles a container's OCI seccomp profile with libseccomp on every start, which costs
about 20 ms here for Docker's ~400-syscall profile (two thirds of its whole start). The
compiled program only depends on the profile, so we compile it once per distinct profile with
the same libseccomp (through ctypes), keep it under the engine's run directory, and hand it to
crun in the annotation it reads instead of compiling — what podman does for crun too. runc has
no such annotation and keeps compiling the profile in the bundle itself.
"""

import base64
import ctypes
import hashlib
import json
import os

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
EEXIST, EACCES = 17, 13   # a duplicate rule; a rule whose action is the default one


class _ArgumentComparison(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def _library():
    library = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = [ctypes.c_uint32]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    library.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    library.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint,
                                               ctypes.POINTER(_ArgumentComparison)]
    library.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return library


def _action(name: str, errno_value: int | None, default_errno: int) -> int:
    if name == "SCMP_ACT_ALLOW":
        return SCMP_ACT_ALLOW
    if name == "SCMP_ACT_ERRNO":
        value = default_errno if errno_value is None else errno_value
        return 0x00050000 | (value & 0xFFFF)
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return SCMP_ACT_KILL_THREAD
    if name == "SCMP_ACT_KILL_PROCESS":
        return SCMP_ACT_KILL_PROCESS
    if name == "SCMP_ACT_TRAP":
        return SCMP_ACT_TRAP
    if name == "SCMP_ACT_LOG":
        return SCMP_ACT_LOG
    raise ValueError(f"seccomp action {name} cannot be precompiled")


def compile_profile(profile: dict) -> bytes:
    """The BPF program (an array of struct sock_filter) for an OCI `linux.seccomp` object."""
    library = _library()
    default_errno = profile.get("defaultErrnoRet", 1)
    context = library.seccomp_init(_action(profile["defaultAction"], default_errno, 1))
    if not context:
        raise OSError(ctypes.get_errno(), "seccomp_init failed")
    try:
        for architecture in profile.get("architectures") or []:
            token = library.seccomp_arch_resolve_name(
                architecture.replace("SCMP_ARCH_", "").lower().encode())
            if token:
                result = library.seccomp_arch_add(context, token)
                if result < 0 and -result != EEXIST:
                    raise OSError(-result, f"seccomp_arch_add({architecture}) failed")
        for rule in profile.get("syscalls") or []:
            action = _action(rule["action"], rule.get("errnoRet"), 1)
            arguments = rule.get("args") or []
            array = (_ArgumentComparison * max(len(arguments), 1))()
            for index, argument in enumerate(arguments):
                array[index] = _ArgumentComparison(argument["index"], OPERATORS[argument["op"]],
                                                   argument.get("value", 0),
                                                   argument.get("valueTwo", 0))
            for name in rule["names"]:
                number = library.seccomp_syscall_resolve_name(name.encode())
                if number < 0:
                    continue  # not a syscall of this architecture (Docker skips those too)
                result = library.seccomp_rule_add_array(context, action, number,
                                                        len(arguments), array)
                if result < 0 and -result not in (EEXIST, EACCES):
                    raise OSError(-result, f"seccomp rule for {name} refused")
        memory = os.memfd_create("moorage-seccomp", os.MFD_CLOEXEC)
        try:
            result = library.seccomp_export_bpf(context, memory)
            if result < 0:
                raise OSError(-result, "seccomp_export_bpf failed")
            os.lseek(memory, 0, os.SEEK_SET)
            chunks = []
            while True:
                chunk = os.read(memory, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(memory)
    finally:
        library.seccomp_release(context)


def annotation(profile: dict, cache_dir: str) -> str | None:
    """The base64 BPF for `profile`, compiled once and cached in `cache_dir`; None when
    libseccomp cannot compile it here (then the runtime compiles the profile itself)."""
    text = json.dumps(profile, sort_keys=True, separators=(",", ":")).encode()
    path = os.path.join(cache_dir, hashlib.sha256(text).hexdigest()[:32] + ".bpf")
    try:
        with open(path, "rb") as f:
            return f.read().decode()
    except FileNotFoundError:
        pass
    try:
        encoded = base64.b64encode(compile_profile(profile))
    except (OSError, ValueError, KeyError):
        return None
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    temporary = f"{path}.{os.getpid()}"
    with open(temporary, "wb") as f:
        f.write(encoded)
    os.rename(temporary, path)
    return encoded.decode()
