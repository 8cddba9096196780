"""Customer managed keys: every one rotates yearly and can be rescued for 30 days."""

from __future__ import annotations

import pytest

from infra.stack_file import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_every_key_rotates_and_has_a_deletion_window(plans, stack):
    keys = plans[stack].of_type("aws:kms/key:Key")
    assert len(keys) == (6 if stack == "prod" else 5)  # prod adds the DR-region key
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30
