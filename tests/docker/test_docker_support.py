"""When Docker cannot be had, the docker tests skip, except under CI=true, where they must fail."""

from __future__ import annotations

import pytest
from docker_support import unavailable


def test_without_docker_the_tests_skip_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs root"):
        unavailable("starting one needs root")


def test_under_ci_a_missing_docker_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true, so the docker tests must run"):
        unavailable("starting one needs root")
