"""Which packages the wheel holds, and two project files it carries; everything else is in pyproject.toml.

Each repository folder becomes one namespaced package with all its subpackages (see package-dir in
pyproject.toml), so a new subpackage ships without anyone editing a list. ``cdk.json`` (feature flags,
the Powertools layer version) and ``constraints.txt`` (the exact pins the Lambda asset vendors) are
copied into ``outage_comms_cli/shipped/`` at build time: git keeps one copy, at the repository root.
"""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

FOLDERS = {
    "outage_comms": "lambdas/outage_comms",
    "outage_comms_handlers": "lambdas/handlers",
    "outage_comms_cdk": "stacks",
    "outage_comms_cli": "cli/outage_comms_cli",
    "outage_comms_embedded": "cli/outage_comms_embedded",
}
SHIPPED = [
    "outage_comms_cli.shipped.templates",
    "outage_comms_cli.shipped.drills",
    "outage_comms_cli.shipped.plans",
]
SHIPPED_FILES = ("cdk.json", "constraints.txt")


def packages() -> list[str]:
    found = []
    for name, folder in FOLDERS.items():
        found += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]
    return found + SHIPPED


class BuildWithProjectFiles(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        target = Path(self.build_lib, "outage_comms_cli", "shipped")
        target.mkdir(parents=True, exist_ok=True)
        for name in SHIPPED_FILES:
            shutil.copyfile(name, target / name)


setup(packages=packages(), cmdclass={"build_py": BuildWithProjectFiles})
