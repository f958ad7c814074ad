"""Amoot's C# samples, compiled by Mono's mcs and run by mono against the server."""

from __future__ import annotations

import pytest

from tests.samples.catalog import SAMPLES, Sample
from tests.samples.conftest import CSharpBuild, SampleServer, run_csharp


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_csharp_sample(
    csharp_build: CSharpBuild, sample_server: SampleServer, sample: Sample
) -> None:
    """The sample runs (WebClient throws on any non-2xx), and its answer is the promised one."""
    answer = run_csharp(csharp_build, sample_server, sample)

    assert answer.status == 200
    sample.check(answer.json())
