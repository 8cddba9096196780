"""Stack files are read the way the Pulumi engine hands config to a program."""

from __future__ import annotations

import pytest

from infra.stack_file import read_stack_file


def test_values_arrive_as_engine_strings(tmp_path):
    (tmp_path / "Pulumi.qa.yaml").write_text(
        "config:\n  mlsys:flag: true\n  mlsys:count: 3\n  mlsys:list: [a, b]\n  aws:region: x\n"
    )
    assert read_stack_file("qa", tmp_path) == {
        "mlsys:flag": "true",
        "mlsys:count": "3",
        "mlsys:list": '["a", "b"]',
        "aws:region": "x",
    }


def test_secrets_are_refused_offline(tmp_path):
    (tmp_path / "Pulumi.qa.yaml").write_text("config:\n  mlsys:token:\n    secure: AAAB\n")
    with pytest.raises(ValueError, match="mlsys:token is a secret"):
        read_stack_file("qa", tmp_path)
