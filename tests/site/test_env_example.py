"""`.env.example`, copied to `.env` as the README says, gives every variable only its value."""

from __future__ import annotations

from pathlib import Path

import environ

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_no_value_read_from_the_example_carries_a_comment(tmp_path, monkeypatch):
    lines = EXAMPLE.read_text().splitlines()
    # The commented-out variables too: an operator uncomments them as they stand.
    uncommented = [line.removeprefix("# ") for line in lines if "=" in line.removeprefix("# ").split(" ")[0]]
    dotenv = tmp_path / ".env"
    dotenv.write_text("\n".join(uncommented) + "\n")
    names = [line.split("=", 1)[0] for line in uncommented]
    monkeypatch.setattr(environ.Env, "ENVIRON", {})  # read into a dict of its own, not this process's environment

    environ.Env.read_env(str(dotenv))

    values = {name: environ.Env()(name) for name in names}
    assert "TOKEN_ENCRYPTION_KEY" in values
    assert "EMAIL_URL" in values
    assert {name: value for name, value in values.items() if "#" in value or value != value.strip()} == {}
