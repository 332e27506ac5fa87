"""Packaging: the generic Fabric layers and the coin live in three source roots.

`chaincode/` holds what runs as chaincode (the shim, the embedded ledger that runs chaincode in-process,
and the coin contract); `client/` holds what applications import (the Gateway client, the Fabric CA
client, the coin SDK and the `seocho` command line). Metadata lives in pyproject.toml.
"""

from setuptools import find_packages, setup

SOURCE_ROOTS = ("chaincode", "client", "network")

packages: list[str] = []
package_dir: dict[str, str] = {}
for root in SOURCE_ROOTS:
    for package in find_packages(where=root):
        packages.append(package)
        package_dir[package] = f"{root}/{package.replace('.', '/')}"

setup(packages=packages, package_dir=package_dir, package_data={pkg: ["py.typed"] for pkg in packages})
