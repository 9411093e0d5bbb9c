"""`--security-opt` (Docker's `HostConfig.SecurityOpt`): what a container's security settings
may be changed to, checked at create, and what the OCI spec gets from them at start.

The options, as Docker's daemon reads them (`KEY=VALUE`, or the older `KEY:VALUE`):
- `no-new-privileges[=true|false]`: the process and its children cannot gain privileges
  (setuid programs, file capabilities): the OCI `process.noNewPrivileges`;
- `seccomp=unconfined`: no seccomp filter; `seccomp=<profile>`: the container's own profile
  in Docker's JSON format instead of the engine's default. The API carries the profile
  itself (`moor run --security-opt seccomp=FILE` reads the file, as Docker's CLI does);
- `apparmor=PROFILE`: the AppArmor profile to run under (`unconfined` for none), refused
  on a host without AppArmor or without that profile loaded;
- `label=disable`: no SELinux labels, which is what every container here gets; any other
  `label=` option is refused, this engine not labelling anything;
- `systempaths=unconfined`: the kernel paths Docker masks or makes read-only are left as
  they are.

The options are kept as given, as Docker's `inspect` shows them.
"""

import json

from runtime.errors import InvalidArgument

APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"
APPARMOR_PROFILES = "/sys/kernel/security/apparmor/profiles"
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
KNOWN = "no-new-privileges, seccomp=, apparmor=, label=disable, systempaths=unconfined"


class SecuritySettings:
    """What a container's `SecurityOpt` asks of its spec."""

    def __init__(self):
        self.no_new_privileges = False
        self.seccomp: str | dict | None = None     # None: the default; "unconfined"; a profile
        self.apparmor: str | None = None
        self.system_paths_unconfined = False


def split(option: str) -> tuple[str, str]:
    """`KEY=VALUE` or `KEY:VALUE` -> (key, value), as Docker's CLI and daemon split them."""
    if not isinstance(option, str):
        raise InvalidArgument(f"invalid --security-opt: {option!r}")
    key, sep, value = option.partition("=")
    if not sep and key != "no-new-privileges":
        key, sep, value = option.partition(":")
    if (not sep or not value) and key != "no-new-privileges":
        raise InvalidArgument(f"invalid --security-opt: {option!r} (the options are {KNOWN})")
    return key, value


def settings(options) -> SecuritySettings:
    """Read (and check) a container's `SecurityOpt`."""
    result = SecuritySettings()
    for option in options or []:
        key, value = split(option)
        if key == "no-new-privileges":
            if value and value not in _TRUE | _FALSE:
                raise InvalidArgument(f"invalid --security-opt: {option!r}: "
                                      "no-new-privileges takes true or false")
            result.no_new_privileges = not value or value in _TRUE
        elif key == "seccomp":
            result.seccomp = "unconfined" if value == "unconfined" else _profile(value)
        elif key == "apparmor":
            result.apparmor = _apparmor(value)
        elif key == "label":
            if value != "disable":
                raise InvalidArgument(f"--security-opt {option}: SELinux labels are not "
                                      "supported by Moorage's engine (its containers run "
                                      "unlabelled: only label=disable is accepted)")
        elif key == "systempaths":
            if value != "unconfined":
                raise InvalidArgument(f"invalid --security-opt: {option!r}: systempaths "
                                      "takes unconfined")
            result.system_paths_unconfined = True
        else:
            raise InvalidArgument(f"invalid --security-opt: {option!r} (the options are "
                                  f"{KNOWN})")
    return result


def parse(value) -> list[str]:
    """`security_opt` -> HostConfig.SecurityOpt, every option checked."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InvalidArgument(f"invalid security options: {value!r} (a list of strings)")
    options = list(value)
    settings(options)
    return options


def _profile(text: str) -> dict:
    """A seccomp profile given in the option (Docker's JSON format), checked by converting
    it as the spec will."""
    from runtime.container import seccomp
    try:
        profile = json.loads(text)
        seccomp.convert(profile, [])
    except ValueError as error:
        hint = "" if text.lstrip().startswith("{") else \
            " (the API takes the profile itself: `moor run` reads a profile's file)"
        raise InvalidArgument(f"invalid seccomp profile: {error}{hint}") from None
    return profile


def apparmor_enabled() -> bool:
    try:
        with open(APPARMOR_ENABLED) as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def _apparmor(profile: str) -> str:
    if not apparmor_enabled():
        raise InvalidArgument(f"--security-opt apparmor={profile}: AppArmor is not enabled "
                              "on this host")
    if profile == "unconfined":
        return profile
    try:
        with open(APPARMOR_PROFILES) as f:
            loaded = {line.rsplit(" (", 1)[0] for line in f.read().splitlines()}
    except OSError:
        loaded = set()
    if profile not in loaded:
        raise InvalidArgument(f"--security-opt apparmor={profile}: no AppArmor profile "
                              f"{profile!r} is loaded on this host")
    return profile
