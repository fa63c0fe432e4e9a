"""Cold init of every Lambda handler in the deployed layout, as a ratio of a bare ``import boto3``.

What a cold start pays before the first event is the import of the handler module (its module-level
objects included). This benchmark measures exactly that, per function of the *synthesized* app:

* the function list, each one's handler, environment and code asset are read from the synthesized
  templates (``cdk.out``), so per-function assets and per-function environments are measured as
  they deploy (an intrinsic such as ``Fn::GetStackOutput`` becomes a placeholder string);
* every sample is a fresh **CPython 3.13** interpreter (the Lambda runtime's version; ``python -S``:
  no site-packages) whose ``sys.path`` is the Lambda's: the function's asset as synthesized (the task
  root, ``LAMBDA_TASK_ROOT`` points at it; its bytecode is used as shipped, nothing is written:
  ``/var/task`` is read-only), then the Powertools layer's packages, then the runtime's own
  boto3/botocore. Layer and runtime are the venv's pins installed once for CPython 3.13 on this
  machine (``.build/cold-init/``) and compiled to bytecode, as Lambda ships them;
* the asset is built for aarch64: its few compiled extensions (lxml, MarkupSafe) are swapped for this
  machine's build of the same pin; every other file is the asset's own;
* each round runs ``import boto3`` and then every handler, interleaved, so load on the machine hits
  both alike; the ratio is median(handler) / median(boto3) over ``ROUNDS`` rounds.

.venv/bin/python bench/run.py --only cold_init                  # writes bench/results/cold_init.json
.venv/bin/python bench/cold_init.py --cdk-out /tmp/cdk.out      # reuse a synthesized app
.venv/bin/python bench/cold_init.py --importtime handlers.intake  # where one handler's import goes

Target (issue 13): every handler <= 1.3x ``import boto3``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "cold_init.json"
ROUNDS = 7
TARGET_RATIO = 1.3
#: What the public Powertools v3 layer ships (``aws-lambda-powertools[all]`` without boto3).
LAYER_PACKAGES = (
    "aws_lambda_powertools",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "annotated_types",
    "typing_extensions",
    "typing_inspection",
    "aws_xray_sdk",
    "wrapt",
    "jmespath",
    "jsonpath_ng",
    "fastjsonschema",
)
#: What the python3.13 Lambda runtime itself provides (``/var/lang/lib/python3.13/site-packages``).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
#: A placeholder for every value CloudFormation resolves at deploy time (ARNs, names, URLs).
DEPLOY_TIME_VALUE = "resolved-at-deploy"
LAYOUT_NOTE = (
    "sys.path = the function's synthesized asset (no bytecode, LAMBDA_TASK_ROOT set, the function's "
    "environment) + Powertools layer packages + the runtime's boto3; compiled extensions of the "
    "aarch64 asset swapped for this host's build of the same pin"
)
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
TARGET_PYTHON = "3.13"
#: Distributions installed for the target interpreter: layer + runtime + the asset's native wheels.
HOST_DISTRIBUTIONS = (
    "aws-lambda-powertools",
    "pydantic",
    "pydantic-core",
    "pydantic-settings",
    "annotated-types",
    "typing-extensions",
    "typing-inspection",
    "aws-xray-sdk",
    "wrapt",
    "jmespath",
    "jsonpath-ng",
    "boto3",
    "botocore",
    "s3transfer",
    "python-dateutil",
    "six",
    "urllib3",
    "lxml",
    "markupsafe",
    "pyyaml",
)


@dataclass(frozen=True)
class Function:
    """One function of the synthesized app: what Lambda would load."""

    stack: str
    logical_id: str
    handler: str  # e.g. handlers.intake.handler
    environment: dict[str, str]
    asset: Path

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]


# --------------------------------------------------------------------------- the synthesized app


def synthesize(outdir: Path, plan: Path) -> Path:
    """Synthesize the plan's app (as ``make drill`` does) into ``outdir``; the vendor cache is ROOT/.build."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from outage_comms_embedded import synthesize_app

    cwd = Path.cwd()
    os.chdir(ROOT)  # the asset builder caches wheels in ./.build
    try:
        synthesize_app(outdir, plan)
    finally:
        os.chdir(cwd)
    return outdir


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else DEPLOY_TIME_VALUE


def functions(cdk_out: Path) -> list[Function]:
    """Every ``AWS::Lambda::Function`` in the assembly, with its asset directory and environment."""
    found = []
    for template in sorted(cdk_out.glob("*.template.json")):
        resources = json.loads(template.read_text(encoding="utf-8")).get("Resources", {})
        for logical_id, resource in sorted(resources.items()):
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            if "Handler" not in props or "S3Key" not in props.get("Code", {}):
                continue  # CDK's own inline helpers (custom resources) are not ours
            key = _scalar(props["Code"]["S3Key"])
            asset = cdk_out / f"asset.{key.removesuffix('.zip')}"
            variables = props.get("Environment", {}).get("Variables", {})
            found.append(
                Function(
                    stack=template.name.removesuffix(".template.json"),
                    logical_id=logical_id,
                    handler=props["Handler"],
                    environment={name: _scalar(value) for name, value in variables.items()},
                    asset=asset,
                )
            )
    return found


# --------------------------------------------------------------------------- the deployed layout


def target_python() -> str:
    """A CPython 3.13 on this machine (the Lambda runtime's version), found as the asset builder finds it."""
    from outage_comms_cdk.lambda_asset import python313

    found = python313()
    if found is None:
        raise RuntimeError(
            "bench/cold_init.py needs a CPython 3.13 (the Lambda runtime's version): the assets ship "
            "3.13 bytecode only. Install one (pyenv install 3.13) or set OUTAGE_COMMS_PYTHON313."
        )
    interpreter: str = found[0]
    return interpreter


def _pins() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in HOST_DISTRIBUTIONS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def host_packages(python: str) -> Path:
    """The venv's pins of the layer, the runtime and the asset's native packages, installed for ``python``
    (this machine's platform) and compiled to its bytecode; cached in ``.build/cold-init/<key>``."""
    import hashlib
    import platform as _platform

    pins = _pins()
    key = hashlib.sha256(json.dumps([pins, TARGET_PYTHON, _platform.machine()]).encode()).hexdigest()[:16]
    target = ROOT / ".build" / "cold-init" / key
    if (target / ".complete").exists():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent if target.parent.exists() else None))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
        "--no-deps", "--no-compile", "--only-binary=:all:", "--implementation", "cp",
        "--python-version", TARGET_PYTHON, "--target", str(staging), *pins,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"could not install {pins} for CPython {TARGET_PYTHON}:\n{result.stderr[-2000:]}")
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", str(staging)], check=False, capture_output=True
    )
    (staging / ".complete").write_text("\n".join(pins) + "\n", encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    if (target / ".complete").exists():  # another run finished first: theirs is identical, and in use
        shutil.rmtree(staging, ignore_errors=True)
        return target
    shutil.rmtree(target, ignore_errors=True)  # an interrupted install
    shutil.move(str(staging), target)
    return target


def _link_packages(source: Path, target: Path, names: Sequence[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        for candidate in (source / name, source / f"{name}.py"):
            if candidate.exists() and not (target / candidate.name).exists():
                (target / candidate.name).symlink_to(candidate)


def host_asset(asset: Path, target: Path, host: Path, ext_suffix: str) -> Path:
    """A copy of ``asset`` whose foreign compiled extensions are this machine's build of the same pin."""
    shutil.copytree(asset, target, symlinks=True)
    for extension in list(target.rglob("*.so")):
        if extension.name.endswith(ext_suffix):
            continue
        relative = extension.relative_to(target)
        stem = extension.name.split(".", 1)[0]
        extension.unlink()
        native = host / relative.parent / f"{stem}{ext_suffix}"
        if native.exists():
            shutil.copy2(native, extension.parent / native.name)
    return target


@dataclass(frozen=True)
class Layout:
    """sys.path and environment of one function, as Lambda sets them up."""

    task_root: Path
    layer: Path
    runtime: Path
    python: str = sys.executable

    @property
    def path(self) -> list[str]:
        return [str(self.task_root), str(self.layer), str(self.runtime)]


class DeployedLayouts:
    """Builds the layer and runtime directories once and a host copy of each distinct asset."""

    def __init__(self, workdir: Path, python: str | None = None) -> None:
        self.workdir = workdir
        self.python = python or target_python()
        self.host = host_packages(self.python)
        self.ext_suffix = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        self.layer = workdir / "opt-python"
        self.runtime = workdir / "var-lang-site-packages"
        _link_packages(self.host, self.layer, LAYER_PACKAGES)
        _link_packages(self.host, self.runtime, RUNTIME_PACKAGES)
        self._assets: dict[Path, Path] = {}

    def for_function(self, function: Function) -> Layout:
        if function.asset not in self._assets:
            copy = self.workdir / f"task-{len(self._assets)}"
            self._assets[function.asset] = host_asset(function.asset, copy, self.host, self.ext_suffix)
        return Layout(self._assets[function.asset], self.layer, self.runtime, self.python)

    def bare(self) -> Layout:
        """The baseline: nothing but the runtime (what ``import boto3`` costs in any function)."""
        empty = self.workdir / "empty-task"
        empty.mkdir(exist_ok=True)
        return Layout(empty, self.layer, self.runtime, self.python)


def lambda_environment(layout: Layout, function: Function | None) -> dict[str, str]:
    """The variables Lambda sets for every python3.13 function, plus the function's own."""
    name = function.logical_id if function else "baseline"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only: nothing is ever cached
        "LAMBDA_TASK_ROOT": str(layout.task_root),
        "LAMBDA_RUNTIME_DIR": str(layout.runtime),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        "_HANDLER": function.handler if function else "",
    }
    if function:
        env.update(function.environment)
        env["PLAN_PATH"] = str(layout.task_root / "plan.json")
        env["TEMPLATES_DIR"] = str(layout.task_root / "templates")
    return env


_PROBE = """
import sys, time
sys.path[:0] = {path!r}
start = time.perf_counter()
import importlib
importlib.import_module({module!r})
print(time.perf_counter() - start)
"""


def import_seconds(layout: Layout, module: str, env: dict[str, str], *, importtime: bool = False) -> float:
    """Seconds to import ``module`` in a fresh interpreter with the Lambda's sys.path and environment."""
    flags = ["-S", "-X", "importtime"] if importtime else ["-S"]
    code = _PROBE.format(path=layout.path, module=module)
    result = subprocess.run(
        [layout.python, *flags, "-c", code],
        env=env,
        cwd=layout.task_root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed in the deployed layout:\n{result.stderr[-3000:]}")
    if importtime:
        sys.stderr.write(result.stderr)
    return float(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- measuring


def measure(cdk_out: Path, *, rounds: int = ROUNDS, only: Sequence[str] = ()) -> dict[str, Any]:
    fns = [f for f in functions(cdk_out) if not only or f.module in only or f.logical_id in only]
    if not fns:
        raise RuntimeError(f"no Lambda functions found in {cdk_out}")
    with tempfile.TemporaryDirectory(prefix="cold-init-") as tmp:
        layouts = DeployedLayouts(Path(tmp))
        bare = layouts.bare()
        bare_env = lambda_environment(bare, None)
        prepared = [(fn, layouts.for_function(fn)) for fn in fns]
        # One warm-up pass: the OS page cache holds the files after it, as on a warm Lambda host.
        import_seconds(bare, "boto3", bare_env)
        for fn, layout in prepared:
            import_seconds(layout, fn.module, lambda_environment(layout, fn))
        baseline: list[float] = []
        samples: dict[str, list[float]] = {fn.logical_id: [] for fn in fns}
        load_before = os.getloadavg()
        started = time.perf_counter()
        for _ in range(rounds):
            baseline.append(import_seconds(bare, "boto3", bare_env))
            for fn, layout in prepared:
                samples[fn.logical_id].append(
                    import_seconds(layout, fn.module, lambda_environment(layout, fn))
                )
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()
    boto3_ms = statistics.median(baseline) * 1000
    per_function = []
    for fn in fns:
        ms = statistics.median(samples[fn.logical_id]) * 1000
        per_function.append(
            {
                "stack": fn.stack,
                "function": fn.logical_id,
                "handler": fn.handler,
                "import_ms": round(ms, 1),
                "ratio_to_import_boto3": round(ms / boto3_ms, 2),
                "within_target": ms / boto3_ms <= TARGET_RATIO,
            }
        )
    ratios = [
        round(ms / boto3_ms, 2) for ms in (statistics.median(samples[fn.logical_id]) * 1000 for fn in fns)
    ]
    return {
        "what": "handler module import in a fresh interpreter, deployed layout, vs bare `import boto3`",
        "target_ratio": TARGET_RATIO,
        "rounds": rounds,
        "import_boto3_ms": round(boto3_ms, 1),
        "import_boto3_ms_samples": [round(s * 1000, 1) for s in baseline],
        "ratio_min": min(ratios),
        "ratio_median": round(statistics.median(ratios), 2),
        "ratio_max": max(ratios),
        "all_within_target": all(row["within_target"] for row in per_function),
        "functions": per_function,
        "machine": machine(layouts.python),
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "measuring_seconds": round(seconds, 1),
    }


def machine(python: str | None = None) -> dict[str, Any]:
    version = (
        subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                       capture_output=True, text=True, check=False).stdout.strip()
        if python else platform.python_version()
    )  # fmt: skip
    return {
        "python": version,
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": os.cpu_count(),
        "note": "Lambda runs python3.13 on arm64 (Graviton); ratios to `import boto3` carry over, ms do not",
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cdk_out(given: Path | None) -> Iterator[Path]:
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="cold-init-cdk-") as tmp:
        yield synthesize(Path(tmp) / "cdk.out", ROOT / "plans" / "example.yaml")


def run(cdk_out: Path | None = None, rounds: int = ROUNDS) -> dict[str, Any]:
    """``bench/run.py`` entry point: synthesize, measure, write bench/results/cold_init.json."""
    sys.path.insert(0, str(ROOT / "bench"))
    from _results import BenchRun

    bench = BenchRun("cold_init", title="Cold init per function (deployed layout) vs bare import boto3")
    for assembly in _cdk_out(cdk_out):
        result = measure(assembly, rounds=rounds)
    for row in result["functions"]:
        bench.figure(
            f"cold init {row['handler'].rsplit('.', 1)[0].removeprefix('handlers.')}",
            row["import_ms"],
            "ms",
            baseline=("import boto3", result["import_boto3_ms"]),
            target=f"<= {TARGET_RATIO}x import boto3",
            met=row["within_target"],
        )
    for key in ("what", "rounds", "import_boto3_ms_samples", "ratio_min", "ratio_median", "ratio_max"):
        bench.detail(key, result[key])
    bench.detail("all_within_target", result["all_within_target"])
    bench.detail("layout", LAYOUT_NOTE)
    return bench.write(RESULTS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdk-out", type=Path, help="a synthesized assembly (default: synthesize now)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--only", nargs="*", default=[], help="handler modules or logical ids")
    parser.add_argument("--importtime", metavar="MODULE", help="print -X importtime for one handler module")
    parser.add_argument("--no-write", action="store_true", help="print only; keep the results file")
    args = parser.parse_args(argv)
    if args.importtime:
        for assembly in _cdk_out(args.cdk_out):
            fn = next(f for f in functions(assembly) if f.module == args.importtime)
            with tempfile.TemporaryDirectory(prefix="cold-init-") as tmp:
                layout = DeployedLayouts(Path(tmp)).for_function(fn)
                import_seconds(layout, fn.module, lambda_environment(layout, fn), importtime=True)
        return 0
    if args.no_write or args.only:
        for assembly in _cdk_out(args.cdk_out):
            result = measure(assembly, rounds=args.rounds, only=args.only)
    else:
        result = run(args.cdk_out, args.rounds)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
