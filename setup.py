"""Which packages the wheel holds; everything else is in pyproject.toml.

Each repository folder becomes one namespaced package with all its subpackages (see package-dir in
pyproject.toml), so a new subpackage ships without anyone editing a list.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "outage_comms": "lambdas/outage_comms",
    "outage_comms_handlers": "lambdas/handlers",
    "outage_comms_cdk": "stacks",
    "outage_comms_cli": "cli/outage_comms_cli",
}
SHIPPED = [
    "outage_comms_cli.shipped.templates",
    "outage_comms_cli.shipped.drills",
    "outage_comms_cli.shipped.plans",
]


def packages() -> list[str]:
    found = []
    for name, folder in FOLDERS.items():
        found += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]
    return found + SHIPPED


setup(packages=packages())
