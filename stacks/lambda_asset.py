"""The one Lambda code asset, bundled locally (no Docker) and cached.

Layout of the asset (the Lambda task root, ``/var/task``)::

    outage_comms/        domain code (the installed ``outage_comms`` package)
    handlers/            thin handlers (the installed ``outage_comms_handlers`` package)
    templates/           the plan's templates folder (outage_comms.templates_location)
    plan.json            the validated plan, as the Lambda reads it (no YAML at runtime)
    jinja2/ markupsafe/ yaml/ ...   runtime dependencies that neither the Lambda runtime
                         (boto3) nor the Powertools layer (powertools, pydantic) provides

The dependencies are installed once per pinned set as aarch64 / CPython 3.13 wheels into
``.build/vendor/<key>/`` (beside the team's ``cdk.json``: the working directory) and copied
from there, so repeated synths are fast and offline.
CDK, moto, typer, rich and textstat are never copied: the asset holds only what is listed here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, BundlingOutput, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from outage_comms.plan import Plan

#: Bump when the asset layout changes without any source file changing.
ASSET_LAYOUT_VERSION = "2"
LAMBDA_PYTHON_VERSION = "3.13"
WHEEL_PLATFORMS = ("manylinux2014_aarch64",)
#: Direct runtime dependencies to vendor; their exact versions are read from constraints.txt.
VENDORED_DIRECT = (
    "jinja2",
    "markupsafe",
    "pyyaml",
    "tzdata",
    # status feeds (RSS/Atom) are written by feedgen, never by hand
    "feedgen",
    "lxml",
    "python-dateutil",
    "six",
    # E.164 validation for SMS and voice (imports as `phonenumbers`)
    "phonenumberslite",
    # subscriber email addresses (subscribers/addresses.py)
    "email-validator",
    # dates, lists, numbers in the plan's locales (outage_comms.locale_format); CLDR data pruned below
    "babel",
)
#: Pure-Python packages published only as source; pip builds them (no compiler involved).
SOURCE_ONLY = ("feedgen",)
#: Transitive runtime dependencies to vendor (markupsafe comes with jinja2), pinned in constraints.txt too.
#: email-validator needs idna (international domains). Its other dependency, dnspython, is imported
#: only for deliverability checks, which we never run (check_deliverability=False): not shipped.
VENDORED_TRANSITIVE_PINS: tuple[str, ...] = ("idna",)

TASK_ROOT = "/var/task"
PLAN_FILE = "plan.json"
IGNORED_NAMES = ("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", ".DS_Store")
#: Build-only sources some wheels carry (lxml: ~2 MB of Cython/C headers); never imported at run time.
VENDOR_BUILD_ONLY = ("*.pyx", "*.pxd", "*.pxi", "*.h", "*.c")
_IGNORED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def build_dir() -> Path:
    """``.build/`` beside the team's ``cdk.json`` (where ``cdk synth`` runs), never in site-packages."""
    return Path.cwd() / ".build"


def source_dirs(templates_dir: Path | None = None) -> dict[str, Path]:
    """Asset directory -> where it comes from: the installed packages and the plan's templates folder."""
    import outage_comms
    import outage_comms_handlers
    from outage_comms_cli.shipped import shipped_path

    return {
        "outage_comms": Path(outage_comms.__file__).resolve().parent,
        "handlers": Path(outage_comms_handlers.__file__).resolve().parent,
        "templates": templates_dir or shipped_path("templates"),
    }


def vendored_requirements(constraints: Path | None = None) -> list[str]:
    """``name==version`` for every vendored package, sorted, as constraints.txt pins them."""
    from outage_comms_cli.shipped import shipped_path

    constraints = constraints or shipped_path("constraints.txt")
    pins: dict[str, str] = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([A-Za-z0-9_.+-]+)\s*(#.*)?", line)
        if match:
            pins[_normalise(match.group(1))] = match.group(2)
    names = [_normalise(name) for name in (*VENDORED_DIRECT, *VENDORED_TRANSITIVE_PINS)]
    missing = [name for name in names if name not in pins]
    if missing:
        raise ValueError(f"{constraints}: pin {missing} with '==' (they ship in the Lambda)")
    return [f"{name}=={pins[name]}" for name in sorted(set(names))]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def vendor_cache_dir(requirements: Sequence[str]) -> Path:
    """The cache directory for exactly these pins on the Lambda's platform."""
    key = hashlib.sha256(
        json.dumps([list(requirements), WHEEL_PLATFORMS, LAMBDA_PYTHON_VERSION]).encode()
    ).hexdigest()[:16]
    return build_dir() / "vendor" / key


def ensure_vendored(requirements: Sequence[str]) -> Path:
    """Install the wheels once (``pip install --target``) and return the cached directory."""
    target = vendor_cache_dir(requirements)
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-input", "--no-compile", "--no-deps",
        "--only-binary=:all:", *(f"--no-binary={name}" for name in SOURCE_ONLY),
        "--implementation", "cp", "--python-version", LAMBDA_PYTHON_VERSION,
        *(arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)),
        "--target", str(staging), *requirements,
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(
                f"could not fetch the Lambda's runtime dependencies {list(requirements)} for "
                f"{WHEEL_PLATFORMS[0]} / CPython {LAMBDA_PYTHON_VERSION}:\n{result.stderr.strip()}\n"
                "Fix: check network access to PyPI, or that these versions publish aarch64 wheels."
            )
        shutil.rmtree(staging / "bin", ignore_errors=True)
        (staging / ".complete").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:  # another process (pytest -n) finished first: theirs is identical
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _source_files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not (_IGNORED_PARTS & set(relative.parts)) and path.suffix != ".pyc":
            yield path


def plan_json(plan: Plan) -> str:
    """The plan as the Lambda reads it: validated, defaults filled in, JSON."""
    return json.dumps(plan.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def asset_fingerprint(plan: Plan, requirements: Sequence[str], templates_dir: Path | None = None) -> str:
    """A stable hash over everything that goes into the asset, so unchanged inputs mean an unchanged asset."""
    digest = hashlib.sha256()
    digest.update(f"layout={ASSET_LAYOUT_VERSION};python={LAMBDA_PYTHON_VERSION};".encode())
    digest.update(json.dumps([list(requirements), WHEEL_PLATFORMS]).encode())
    for name, root in sorted(source_dirs(templates_dir).items()):
        for path in _source_files(root):
            digest.update(f"\0{name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    digest.update(f"\0{PLAN_FILE}\0".encode())
    digest.update(plan_json(plan).encode())
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class LocalLambdaBundler:
    """Builds the asset directory on this machine; CDK never falls back to Docker."""

    def __init__(self, *, plan: Plan, requirements: Sequence[str], templates_dir: Path | None = None) -> None:
        self._plan_json = plan_json(plan)
        self._locales = list(plan.locale_codes)
        self._requirements = list(requirements)
        self._sources = source_dirs(templates_dir)

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: Any) -> bool:
        out = Path(output_dir)
        vendor = ensure_vendored(self._requirements)
        shutil.copytree(
            vendor, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete", *VENDOR_BUILD_ONLY)
        )
        prune_babel_locale_data(out, self._locales)
        for name, source in self._sources.items():
            if source.is_dir():
                shutil.copytree(
                    source, out / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*IGNORED_NAMES)
                )
            else:
                (out / name).mkdir(parents=True, exist_ok=True)
        (out / PLAN_FILE).write_text(self._plan_json, encoding="utf-8")
        # Deterministic modes: the zip (and so the deployed code hash) does not depend on umask.
        for path in out.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        return True


def babel_locale_data_kept(locales: Sequence[str]) -> set[str]:
    """The CLDR files (``babel/locale-data/<name>.dat``) the plan's locales load: each one's chain to root."""
    from outage_comms.locale_format import cldr_chain

    return {name for code in locales for name in cldr_chain(code)} | {"root"}


def prune_babel_locale_data(out: Path, locales: Sequence[str]) -> None:
    """Keep only the plan's locales (and their parents) of Babel's 1,149 CLDR files (35 MB in all).

    Babel reads ``babel/global.dat`` (kept: it is beside the folder) and, per locale, its ``.dat`` and each
    parent's down to ``root.dat``. A locale the plan does not declare is never formatted at run time.
    """
    # babel.messages is gettext catalog tooling (~0.5 MB): never imported by dates, numbers, lists, units.
    shutil.rmtree(out / "babel" / "messages", ignore_errors=True)
    data = out / "babel" / "locale-data"
    if not data.is_dir():
        return
    kept = babel_locale_data_kept(locales)
    for path in data.glob("*.dat"):
        if path.stem not in kept:
            path.unlink()


def lambda_code(*, plan: Plan, templates_dir: Path | None = None) -> lambda_.AssetCode:
    """The shared code asset for every Outage Comms function (bind it once per stack).

    ``templates_dir`` is the plan's templates folder (None: the shipped templates).
    """
    requirements = vendored_requirements()
    sources = source_dirs(templates_dir)
    return lambda_.Code.from_asset(
        str(sources["handlers"]),  # never read: the local bundler builds the directory
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_fingerprint(plan, requirements, templates_dir),
        bundling=BundlingOptions(
            # Required by the API, never pulled: the local bundler always succeeds or raises.
            image=DockerImage.from_registry("none"),
            local=LocalLambdaBundler(plan=plan, requirements=requirements, templates_dir=templates_dir),
            output_type=BundlingOutput.NOT_ARCHIVED,
        ),
    )
