"""Packaging: the generic Fabric layers and the coin live in three source roots.

`chaincode/` holds what runs as chaincode (the shim, the embedded ledger that runs chaincode in-process,
and the coin contract); `client/` holds what applications import (the Gateway client, the Fabric CA
client, the coin SDK and the `seocho` command line); `network/` holds the topology and `seocho_network`,
which renders and runs the Fabric network (`scripts/network.sh`). Metadata lives in pyproject.toml.

Building (a wheel, or `pip install -e`) compiles the CLI's message catalogues
(`client/seocho/locale/*/LC_MESSAGES/seocho.po`) to the `.mo` files gettext reads, with Babel.
"""

from pathlib import Path
from typing import ClassVar

from setuptools import Command, find_packages, setup
from setuptools.command.build_py import build_py

SOURCE_ROOTS = ("chaincode", "client", "network")
LOCALE_DIR = Path(__file__).parent / "client" / "seocho" / "locale"

packages: list[str] = []
package_dir: dict[str, str] = {}
for root in SOURCE_ROOTS:
    for package in find_packages(where=root):
        packages.append(package)
        package_dir[package] = f"{root}/{package.replace('.', '/')}"
# The catalogues' directories hold data only; listing them as packages is how setuptools ships their files.
catalogue_packages = [
    "seocho." + ".".join(path.relative_to(LOCALE_DIR.parent).parts)
    for path in [LOCALE_DIR, *sorted(LOCALE_DIR.glob("*")), *sorted(LOCALE_DIR.glob("*/LC_MESSAGES"))]
    if path.is_dir()
]
for package in catalogue_packages:
    packages.append(package)
    package_dir[package] = "client/" + package.replace(".", "/")


class CompileCatalogs(Command):
    """Compile each .po catalogue beside itself to .mo (in the source tree, so editable installs see it)."""

    description = "compile the seocho message catalogues (.po -> .mo)"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = []

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po_path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name)
            with po_path.with_suffix(".mo").open("wb") as mo_file:
                write_mo(mo_file, catalog)


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        self.run_command("compile_catalogs")
        super().run()


setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        **{pkg: ["py.typed"] for pkg in packages},
        **{pkg: ["*.po", "*.mo"] for pkg in catalogue_packages},
        "seocho_http": ["py.typed", "openapi.json", "wallet/*"],
    },
    cmdclass={"compile_catalogs": CompileCatalogs, "build_py": BuildPyWithCatalogs},
)
