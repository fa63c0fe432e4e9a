"""The wheel, as a team installs it: built from this repository, installed into a fresh venv outside it.

``make test`` runs the contents check, ``--version``, ``init`` and ``lint`` from the wheel;
``make package-test`` (``OUTAGE_COMMS_PACKAGE_TEST=1``) also runs the drill and ``cdk synth`` in the team's
repository (minutes: the CDK app is synthesized with the installed library and deployed into moto).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HEAVY = os.environ.get("OUTAGE_COMMS_PACKAGE_TEST") == "1"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:checkout"
ENV = {
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def _run(command: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))} | ENV
    env["PATH"] = os.pathsep.join([str(Path(command[0]).parent), env.get("PATH", "")])
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def tracked() -> list[str]:
    """The repository's tracked files (what a clone holds)."""
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [name for name in listing.stdout.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the tracked files (a fresh clone): nothing is written into the tree."""
    source = tmp_path_factory.mktemp("clone")
    for name in tracked():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    result = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)], source
    )
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("outage_comms-*.whl")
    return built


def _dependencies_from_the_dev_venv(python: Path) -> None:
    """Let the fresh venv import the wheel's *dependencies* from this checkout's venv, never its code.

    A ``.pth`` line adds that site-packages to ``sys.path`` after the fresh venv's own, without running
    its ``.pth`` files, so the editable install of this repository stays inactive: every ``outage_comms*``
    module must come from the wheel. Resolving and downloading the dependencies from the constraints is
    what ``make package-test`` proves; ``make test`` keeps to what the wheel itself holds.
    """
    ours = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    theirs = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(theirs) / "outage_comms_test_dependencies.pth").write_text(f"{ours}\n", encoding="utf-8")


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repository (no system site-packages) with the wheel and its extras."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(home / "venv")
    python = home / "venv" / "bin" / "python"
    if HEAVY:
        command = ["-c", str(ROOT / "constraints.txt"), f"outage-comms[cdk,local] @ {wheel.as_uri()}"]
    else:
        command = ["--no-deps", str(wheel)]
    result = _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *command], home)
    assert result.returncode == 0, result.stderr
    if not HEAVY:
        _dependencies_from_the_dev_venv(python)
        probe = (
            "import outage_comms_cli, outage_comms; print(outage_comms_cli.__file__, outage_comms.__file__)"
        )
        where = _run([str(python), "-c", probe], home)
        assert str(ROOT) not in where.stdout and where.returncode == 0, where.stdout + where.stderr
    return home / "venv" / "bin"


def test_the_wheel_holds_every_package_and_the_shipped_files(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {
        "outage_comms",
        "outage_comms_handlers",
        "outage_comms_cdk",
        "outage_comms_cli",
        "outage_comms_embedded",
    }
    folders = {
        "lambdas/outage_comms/": "outage_comms/",
        "lambdas/handlers/": "outage_comms_handlers/",
        "stacks/": "outage_comms_cdk/",
        "cli/outage_comms_cli/": "outage_comms_cli/",
        "cli/outage_comms_embedded/": "outage_comms_embedded/",
        "templates/": "outage_comms_cli/shipped/templates/",
        "drills/": "outage_comms_cli/shipped/drills/",
    }
    for name in tracked():
        for folder, package in folders.items():
            if name.startswith(folder) and (name.endswith(".py") or not package.startswith("outage_comms/")):
                assert package + name.removeprefix(folder) in names, name
    for single in ("plans/example.yaml", "cdk.json", "constraints.txt"):
        assert f"outage_comms_cli/shipped/{single}" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert 'Requires-Dist: aws-cdk-lib<3,>=2.257; extra == "cdk"' in metadata
    assert "==" not in "".join(
        line for line in metadata.splitlines() if line.startswith("Requires-Dist: boto3")
    )
    # `[local]` installs the embedded AWS's dependencies; `[drill]`, its old name, installs the same
    extras = {"local": set(), "drill": set()}
    for line in metadata.splitlines():
        for extra, wanted in extras.items():
            if line.startswith("Requires-Dist: ") and line.endswith(f'extra == "{extra}"'):
                wanted.add(line.split(";")[0])
    assert extras["local"] and extras["local"] == extras["drill"], extras
    assert any(requirement.startswith("Requires-Dist: moto[") for requirement in extras["local"])


@pytest.fixture(scope="session")
def teams(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two teams' repositories written by the installed ``outage-comms init``."""
    home = tmp_path_factory.mktemp("teams")
    specs = {
        "english": ["--org", "Acme Cloud", "--locale", "en", "--channel", "email"],
        "chat": ["--org", "Borealis Pay", "--locale", "en", "--locale", "de",
                 "--channel", "email", "--channel", "slack", "--channel", "status_page"],
    }  # fmt: skip
    for name, args in specs.items():
        result = _run(
            [str(installed / "outage-comms"), "init", str(home / name), "--non-interactive", *args], home
        )
        assert result.returncode == 0, result.stderr
    return {name: home / name for name in specs}


def test_version_from_the_wheel(installed: Path) -> None:
    result = _run([str(installed / "outage-comms"), "--version"], installed)
    assert result.returncode == 0 and result.stdout.strip() == "outage-comms 0.1.0", (
        result.stdout + result.stderr
    )


def test_init_then_lint_clean_and_a_leak_in_the_team_template_is_flagged(
    installed: Path, teams: dict[str, Path], tmp_path: Path
) -> None:
    for team in teams.values():
        result = _run([str(installed / "outage-comms"), "lint", "plan.yaml", "--format", "json"], team)
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["templates"] == str((team / "templates").resolve())
    leaky = tmp_path / "leaky"
    shutil.copytree(teams["english"], leaky)
    path = leaky / "templates" / "messages" / "en" / "investigating.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["email"]["body"] = f"{ARN} is down. " + data["email"]["body"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = _run([str(installed / "outage-comms"), "lint", "plan.yaml"], leaky)
    assert result.returncode == 1 and "ARN" in result.stdout, result.stdout


@pytest.fixture(scope="session")
def drilled(installed: Path, teams: dict[str, Path]) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    yield {
        name: _run(
            [str(installed / "outage-comms"), "drill", "--plan", "plan.yaml", "--out", "out/drill"],
            team,
            1800,
        )
        for name, team in teams.items()
    }


@pytest.mark.skipif(not HEAVY, reason="drill and cdk synth from the wheel: make package-test")
def test_drill_from_the_wheel_succeeds_for_each_team(
    drilled: dict[str, subprocess.CompletedProcess[str]], teams: dict[str, Path]
) -> None:
    for name, result in drilled.items():
        assert result.returncode == 0 and "Drill SUCCEEDED" in result.stdout, (
            name,
            result.stdout[-3000:],
            result.stderr[-3000:],
        )
        assert (teams[name] / "out" / "drill" / "report.md").is_file()
        # the handlers' Powertools EMF lines stay out of the terminal (drills/quiet.py: stdout per thread)
        assert '"_aws"' not in result.stdout, (
            name,
            [line for line in result.stdout.splitlines() if "_aws" in line],
        )


@pytest.mark.skipif(not HEAVY, reason="drill and cdk synth from the wheel: make package-test")
def test_cdk_synth_in_the_team_repository(installed: Path, teams: dict[str, Path]) -> None:
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    for name, team in teams.items():
        result = _run([str(cdk), "synth", "--quiet"], team, 1800)
        assert result.returncode == 0, (name, result.stderr[-3000:])
        # `init` gives each team a deployment id (its organisation), so the stacks are OutageComms-<id>-*
        deployment = yaml.safe_load((team / "plan.yaml").read_text(encoding="utf-8"))["deployment"]["id"]
        stacks = sorted(p.name for p in (team / "cdk.out").glob("*.template.json"))
        assert f"OutageComms-{deployment}-Core.template.json" in stacks, (name, stacks)
        assert f"OutageComms-{deployment}-Workflow.template.json" in stacks, (name, stacks)
        assert (team / ".build").is_dir()  # the vendoring cache sits beside the team's cdk.json
    assert not list(installed.parent.rglob("site-packages/.build"))
