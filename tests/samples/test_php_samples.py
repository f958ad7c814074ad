"""Amoot's PHP samples, run by php-cli against the server: what each is answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.samples.catalog import SAMPLES, Sample
from tests.samples.conftest import SampleServer, run_php


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_php_sample(php: str, sample_server: SampleServer, sample: Sample, tmp_path: Path) -> None:
    """The sample runs without a warning, gets HTTP 200 and the answer its method promises."""
    answer = run_php(php, tmp_path, sample_server, sample)

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    sample.check(answer.json())
