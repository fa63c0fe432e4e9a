"""The security proof suite: ``figures(area)`` gives a test its counts; they are written and checked."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.security.figures import Figures


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/security/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.security)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Figures]]:
    """``figures("approval")`` -> a :class:`Figures` for that area; written when the test ends.

    The test must still assert ``f.clean`` (with ``f.failure_message()``): recording is not checking.
    """
    made: list[Figures] = []

    def make(area: str) -> Figures:
        record = Figures(area=area, test=request.node.nodeid)
        made.append(record)
        return record

    yield make
    for record in made:
        record.write()
