"""The README's first lines: `./scripts/demo` runs the service and prints the URL, `./scripts/test` runs the tests."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.contract.harness import ROOT, answers, free_port, wait_for

pytestmark = pytest.mark.contract


def first_code_block(readme: str) -> list[str]:
    """The README's first code block: indented lines, or a fenced block, whichever comes first."""
    lines = readme.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("```"):
            end = lines.index("```", index + 1)
            return lines[index + 1 : end]
        if line.startswith("    ") and line.strip():
            block = []
            for following in lines[index:]:
                if not following.startswith("    "):
                    break
                block.append(following.strip())
            return block
    return []


def test_the_readmes_first_code_block_runs_the_demo_and_the_tests():
    block = first_code_block((ROOT / "README.md").read_text())
    commands = [line.split("#")[0].strip() for line in block]
    assert commands[:2] == ["./scripts/demo", "./scripts/test"], block
    assert all(os.access(ROOT / command, os.X_OK) for command in commands[:2])


def test_scripts_demo_starts_the_service_on_chosen_ports_and_prints_its_url(tmp_path):
    port, exact_port, eduframe_port = free_port(), free_port(), free_port()
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(
        PORT=str(port),
        EXACT_PORT=str(exact_port),
        EDUFRAME_PORT=str(eduframe_port),
        # The demo's own files in this test's folder, never the repository's db.sqlite3 and var/.
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        CELERY_BROKER_URL=f"filesystem://{tmp_path / 'queue'}",
        EDUEXACT_VAR_DIR=str(tmp_path / "var"),
        DJANGO_ADMIN_URL="/ops-console/",  # the contract's variable: the demo points at the admin where it is
    )
    output = tmp_path / "demo.out"
    with output.open("w") as out:
        demo = subprocess.Popen(
            ["./scripts/demo"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://localhost:{port}/install/?educator=demo-academy"
        wait_for(lambda: url in output.read_text() or demo.poll() is not None, timeout=120, what="the demo's URL")
        assert demo.poll() is None, output.read_text()
        assert re.search(rf"Open:\s+{re.escape(url)}", output.read_text())
        assert answers(f"http://127.0.0.1:{port}/healthz")
        assert re.search(rf"Admin:\s+http://localhost:{port}/ops-console/\s", output.read_text())
        assert answers(f"http://127.0.0.1:{port}/ops-console/", status=302)
        assert answers(f"http://127.0.0.1:{port}/admin/", status=404)
        assert answers(f"http://127.0.0.1:{exact_port}/_sandbox/state")
        assert answers(f"http://127.0.0.1:{eduframe_port}/_sandbox/counts")
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, 15)
            try:
                demo.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, 9)
                demo.wait(timeout=5)
    assert not answers(f"http://127.0.0.1:{port}/healthz"), "the demo's web server outlived the demo"
