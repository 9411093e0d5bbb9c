"""The netlink module loads only pyroute2's rtnetlink messages, and leaves the full package
usable for anyone who asks for it later in the same process."""

import subprocess
import sys

import runtime


def _python(code: str) -> str:
    root = runtime.__path__[0].rsplit("/", 1)[0]
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, check=True).stdout


def test_only_the_rtnetlink_messages_are_imported():
    loaded = _python("import sys, runtime.network.netlink\n"
                     "print(' '.join(m for m in sys.modules\n"
                     "      if m.startswith(('pyroute2', 'asyncio', 'multiprocessing'))))").split()
    assert {"pyroute2.netlink", "pyroute2.netlink.rtnl.rtmsg",
            "pyroute2.netlink.rtnl.ifaddrmsg"} <= set(loaded)
    assert not [name for name in loaded if name.startswith((
        "pyroute2.iproute", "pyroute2.ndb", "pyroute2.conntrack", "pyroute2.config",
        "pyroute2.netlink.rtnl.ifinfmsg", "asyncio", "multiprocessing"))]


def test_the_full_package_is_still_there_for_others():
    assert _python("import runtime.network.netlink\n"
                   "from pyroute2 import IPRoute\n"
                   "print(IPRoute.__name__)").strip() == "IPRoute"


def test_importing_the_network_package_does_not_load_pyroute2():
    assert _python("import sys, runtime.network, runtime.cli.network\n"
                   "print('pyroute2' in sys.modules)").strip() == "False"
