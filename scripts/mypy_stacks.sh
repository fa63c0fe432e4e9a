#!/usr/bin/env bash
# mypy (strict, the project's config) over the CDK app as the package it ships as: `outage_comms_cdk`.
#
# `mypy stacks` cannot resolve `outage_comms_cdk.*` (the wheel maps stacks/ to that name and the editable
# install does it with an import hook mypy does not run), so every name imported from a sibling module is
# `Any` and mypy reports false "Returning Any" errors while missing real ones. Here the package names
# point at their folders through symlinks in .build/typecheck/, and mypy checks the package by its name.
#
#   bash scripts/mypy_stacks.sh            # what `make lint` runs
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
LINKS=.build/typecheck
mkdir -p "$LINKS"
ln -sfn ../../stacks "$LINKS/outage_comms_cdk"
ln -sfn ../../lambdas/handlers "$LINKS/outage_comms_handlers"
MYPYPATH="$LINKS:lambdas" exec "$BIN/mypy" -p outage_comms_cdk "$@"
