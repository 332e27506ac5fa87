"""One machine as separate hosts: each organisation's steps run under its own Unix account.

    steps = AccountSteps(home, {"SeochoDistrict": "seocho-district", "Partners": "seocho-partners"})
    steps.prepare(); steps.up(); steps.deploy(); ...; steps.down()

Every step an organisation owns (`org up`, `channel join`, `chaincode approve`, ...) runs as a child
`python -m seocho_network` under that organisation's account, so the nodes it starts (its CAs, orderers,
peers and chaincode servers) are that account's processes and the files it writes are that account's.
Its home, orgs/<domain>, is 0700 and owned by it: no other organisation's account can read its keys, and
a step that reached into another organisation's home fails with "permission denied" instead of silently
working as it does when one account runs everything. The organisations reach each other over TCP on
127.0.0.1 only.

What they exchange sits in two shared directories, which on separate hosts are copied between them:
definitions/ (each organisation writes its own) and channel/ (the genesis block, config updates and their
signatures). They belong to a group the steps run with (`seocho-exchange`, made once by root like the
accounts), mode 2770: every organisation's account reads and adds files there (new files join the group),
a config update is signed by replacing its file with a signed copy (config_updates.sign), and a local
user outside the consortium can neither read nor plant anything.

The accounts also need programs they can read: the Fabric release (root's ~/.cache/seocho-fabric is not
readable by them, so `shared_tools` links it into a directory that is) and a Python with the project
installed (a virtual environment under /root is not readable either: then a system Python of the same
version is given this environment's packages).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import site
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import channel, deployment, profiles
from .binaries import FABRIC_CA_VERSION, cache_root
from .context import NetworkError, Say
from .network import Network
from .topology import Organization, Topology, load_topology

_REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = ("chaincode", "client", "network")  # as setup.py's
EXCHANGE_GROUP = "seocho-exchange"
SHARED_MODE = 0o2770  # the exchange group's: new files and directories join the group (setgid)
STEP_TIMEOUT = 600.0


@dataclass(frozen=True)
class Account:
    """An organisation's Unix account."""

    user: str
    uid: int
    gid: int

    @classmethod
    def named(cls, user: str) -> Account:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise NetworkError(
                f"no Unix account {user!r} (create it first, e.g. useradd --system {user})"
            ) from None
        return cls(user, entry.pw_uid, entry.pw_gid)


@dataclass(frozen=True)
class Tools:
    """What the accounts run: a Python with the project installed, and the Fabric programs' cache."""

    python: Path
    fabric_cache: Path


def _readable_by_all(path: Path) -> bool:
    """True when any account can reach `path` (every directory above it searchable by others)."""
    resolved = path.resolve()
    for part in [*reversed(resolved.parents), resolved]:
        mode = part.stat().st_mode
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return False
    return bool(resolved.stat().st_mode & stat.S_IROTH)


def _link_tree(source: Path, target: Path, ignore: Callable[..., Any] | None = None) -> None:
    """`target` becomes a copy of `source` made of hard links (copies where linking is not possible)."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, symlinks=True, copy_function=link, ignore=ignore)
    for directory in [staging, *(p for p in staging.rglob("*") if p.is_dir() and not p.is_symlink())]:
        directory.chmod(0o755)
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)


def _readable_packages(directory: Path, copy_project: bool) -> Path:
    """This environment's site-packages if every account can read it and the checkout, else a copy in
    `directory` (hard links) without the editable install's hooks, whose `seocho-project.pth` names a copy
    of the checkout's source roots (the packages read files beside them, e.g. network/versions.env). The
    source roots are linked again on every call, so the copy runs the checkout's code."""
    packages = Path(site.getsitepackages()[0])
    if not copy_project and _readable_by_all(packages) and _readable_by_all(_REPO_ROOT):
        return packages
    copy = directory / "site-packages"
    if not copy.is_dir():
        _link_tree(packages, copy, shutil.ignore_patterns("__editable__*", "__pycache__"))
    project = directory / "project"
    project.mkdir(exist_ok=True)
    project.chmod(0o755)
    for root in SOURCE_ROOTS:
        _link_tree(_REPO_ROOT / root, project / root, shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (copy / "seocho-project.pth").write_text("".join(f"{project / root}\n" for root in SOURCE_ROOTS))
    return copy


def _shared_python(directory: Path, copy_project: bool) -> Path:
    """This environment's Python if every account can run it, else a virtual environment in `directory`
    whose interpreter is a system Python of the same version and whose packages are this environment's
    (or a copy of them, see `_readable_packages`)."""
    readable = _readable_by_all(Path(sys.base_prefix)) and _readable_by_all(Path(sys.prefix))
    if readable and not copy_project and _readable_by_all(_REPO_ROOT):
        return Path(sys.executable)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    interpreter = Path(sys.executable) if readable else None
    for candidate in (Path("/usr/bin") / version, Path("/usr/local/bin") / version):
        if interpreter is None and candidate.exists() and _readable_by_all(candidate):
            interpreter = candidate
    if interpreter is None:
        raise NetworkError(
            f"no {version} that other accounts can run (this one is under {sys.base_prefix}): install "
            f"{version} for every account (e.g. Debian's python3), or the project where they can read it"
        )
    packages = _readable_packages(directory, copy_project)
    environment = directory / "python"
    (environment / "bin").mkdir(parents=True, exist_ok=True)
    (environment / "lib" / version).mkdir(parents=True, exist_ok=True)
    (environment / "pyvenv.cfg").write_text(
        f"home = {interpreter.resolve().parent}\ninclude-system-site-packages = false\n", encoding="utf-8"
    )
    for link, points_to in ((environment / "bin" / "python", interpreter.resolve()),
                            (environment / "lib" / version / "site-packages", packages)):  # fmt: skip
        link.unlink(missing_ok=True)
        link.symlink_to(points_to)
    for path in [environment, *environment.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    return environment / "bin" / "python"


def shared_tools(directory: Path, fabric_version: str, copy_project: bool = False) -> Tools:
    """Links the Fabric `fabric_version` release and Fabric CA into `directory` (readable by every
    account), and finds a Python every account can run with the project installed (`copy_project`: run
    the project from a copy in `directory` even when the checkout is readable)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    cache = directory / "fabric"
    cache.mkdir(exist_ok=True)
    cache.chmod(0o755)
    for name in (f"fabric-{fabric_version}", f"ca-{FABRIC_CA_VERSION}"):
        if not (cache / name).is_dir():
            _link_tree(cache_root() / name, cache / name)
    return Tools(_shared_python(directory, copy_project), cache)


class AccountSteps:
    """A network on this machine whose organisations' steps each run under the organisation's account.

    `run_as` maps an organisation (name, MSP id or domain) to its Unix account; an organisation without
    one runs its steps as the caller. Must be started by root (it switches accounts).
    """

    def __init__(
        self,
        home: Path,
        run_as: Mapping[str, str],
        tools: Tools,
        port_offset: int,
        topology_file: Path | None = None,
        say: Say = print,
        exchange_group: str = EXCHANGE_GROUP,
    ) -> None:
        self.home = home
        self.exchange_group = exchange_group
        self.tools = tools
        self.port_offset = port_offset
        self.topology_file = topology_file
        self.say = say
        self.topology: Topology = load_topology(topology_file, port_offset)
        self.accounts: dict[str, Account] = {}
        for name, user in run_as.items():
            self.accounts[self._org(name).domain] = Account.named(user)

    def _org(self, name: str) -> Organization:
        for org in self.topology.organizations:
            if name in (org.name, org.msp_id, org.domain):
                return org
        raise NetworkError(f"no organisation {name!r} in the topology")

    def account(self, org: Organization) -> Account | None:
        return self.accounts.get(org.domain)

    def org_home(self, org: Organization) -> Path:
        return self.home / "orgs" / org.domain

    # ---- the machine's part: homes, and what the organisations exchange ---------------------------------

    def exchange_gid(self) -> int:
        """The group the organisations' steps share the exchange directories by."""
        try:
            return grp.getgrnam(self.exchange_group).gr_gid
        except KeyError:
            raise NetworkError(
                f"no group {self.exchange_group!r} for what the organisations exchange (create it first, "
                f"e.g. groupadd --system {self.exchange_group})"
            ) from None

    def shared_directories(self) -> list[Path]:
        return [self.home / "definitions", self.home / "channel", self.home / "channel" / "updates"]

    def prepare(self) -> None:
        """The network home (0755), each organisation's home (0700, its account's), the shared directories
        (root's and the exchange group's, 2770)."""
        if os.geteuid() != 0:
            raise NetworkError("running each organisation as its own account needs root")
        gid = self.exchange_gid()
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o755)
        (self.home / "orgs").mkdir(exist_ok=True)
        (self.home / "orgs").chmod(0o755)
        for shared in self.shared_directories():
            shared.mkdir(exist_ok=True)
            os.chown(shared, 0, gid)
            shared.chmod(SHARED_MODE)
        for org in self.topology.organizations:
            home = self.org_home(org)
            home.mkdir(exist_ok=True)
            home.chmod(0o700)
            account = self.account(org)
            if account is not None:
                for path in [home, *home.rglob("*")]:
                    os.lchown(path, account.uid, account.gid)

    # ---- one organisation's step ----------------------------------------------------------------------

    def run(self, org: Organization, *args: str) -> str:
        """`python -m seocho_network ARGS` on this network, as `org`'s account; returns what it printed."""
        command = [str(self.tools.python), "-m", "seocho_network", "--home", str(self.home)]
        if self.topology_file is not None:
            command += ["--topology", str(self.topology_file)]
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.org_home(org)),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "SEOCHO_NETWORK_PORT_OFFSET": str(self.port_offset),
            "SEOCHO_FABRIC_CACHE": str(self.tools.fabric_cache),
            "SEOCHO_FABRIC_VERSION": self.topology.fabric_version,
            "SEOCHO_ORDERER_TYPE": self.topology.orderer_type,
        }
        account = self.account(org)
        switch: dict[str, Any] = {}
        if account is not None:  # its own group, and the exchange group for the shared directories
            switch = {"user": account.uid, "group": account.gid, "extra_groups": [self.exchange_gid()]}
        who = account.user if account is not None else "this account"
        try:
            done = subprocess.run(
                [*command, *args], env=environment, cwd="/", umask=0o022, capture_output=True, text=True,
                timeout=STEP_TIMEOUT, check=False, **switch,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise NetworkError(f"{' '.join(args)} as {who}: no end within {STEP_TIMEOUT:.0f} s") from None
        for line in done.stdout.splitlines():
            self.say(f"[{who}] {line}")
        if done.returncode != 0:
            quoted = "\n".join("    | " + line for line in (done.stdout + done.stderr).splitlines()[-20:])
            raise NetworkError(f"{' '.join(args)} as {who} failed (exit {done.returncode}):\n{quoted}")
        return done.stdout

    # ---- the one-machine script, each step by its owner ---------------------------------------------------

    def up(self) -> None:
        """Each organisation's `org up`; the district's `channel create`; each one's `channel join`."""
        orgs = self.topology.organizations
        for org in orgs:
            self.run(org, "org", "up", org.name)
        self.run(orgs[0], "channel", "create")
        for org in orgs:
            self.run(org, "channel", "join", org.name)
        # The machine's part (root's, as the one-machine `up` does it): wait until every peer knows the
        # others (each read with its own organisation's operations client), then the client profiles,
        # which name only public things (the definitions' TLS roots).
        network = self.network()
        channel.wait_for_gossip(network)
        profiles.write_profiles(network)

    def network(self) -> Network:
        """The network as this (root) process sees it, for the client's and the machine's steps."""
        return Network.open(self.home, self.topology_file, say=self.say, port_offset=self.port_offset)

    def deploy(self, sequence: int | None = None) -> None:
        """Each organisation installs, serves and approves the coin chaincode; the district commits it."""
        if sequence is None:
            network = self.network()
            sequence = deployment.next_sequence(network, network.runtime.coin_service(), False)
            if sequence is None:
                self.say("deploy: the committed definition is this code already (`org up` serves it)")
                return
        number = ("--sequence", str(sequence))
        district, *_ = orgs = self.topology.organizations
        for org in orgs:
            self.run(org, "chaincode", "approve", org.name, *number)
        self.run(district, "chaincode", "commit", district.name, *number)

    def down(self) -> None:
        """Each organisation's `org down` (its nodes and chaincode servers stop; its files stay)."""
        failures = []
        for org in reversed(self.topology.organizations):
            try:
                self.run(org, "org", "down", org.name)
            except NetworkError as exc:
                failures.append(str(exc))
        if failures:
            raise NetworkError("; ".join(failures))


def parse_run_as(pairs: Sequence[str]) -> dict[str, str]:
    """`ORG=USER` pairs (the CLI's `--run-as`) as a mapping; a malformed pair is a NetworkError."""
    found: dict[str, str] = {}
    for pair in pairs:
        org, equals, user = pair.partition("=")
        if not (equals and org and user):
            raise NetworkError(f"--run-as takes ORG=USER (e.g. Partners=seocho-partners), not {pair!r}")
        found[org] = user
    return found


def steps_for(network: Network, run_as: Mapping[str, str], topology_file: Path | None = None) -> AccountSteps:
    """`network`'s organisations as accounts, with the tools they run linked into <home>/tools."""
    home = network.layout.root
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    tools = shared_tools(home / "tools", network.topology.fabric_version)
    offset = network.topology.port_offset
    return AccountSteps(home, run_as, tools, offset, topology_file, say=network.say)
