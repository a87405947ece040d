"""GET /invoices/{id}/pdf returns a real, small, valid PDF."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest

from .helpers import course_line


@pytest.fixture
def pdf(api, state, world):
    invoice = state.add_invoice(world.account["id"], [course_line(world)], status="open")
    return base64.b64decode(api.get(f"/invoices/{invoice['id']}/pdf").json()["data"])


def test_the_pdf_endpoint_returns_base64_of_a_pdf_file(pdf):
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_the_pdf_shows_the_invoice_number_account_and_totals(pdf):
    assert b"(Invoice 2026-0001)" in pdf
    assert b"Voorbeeld Opleidingen B.V." in pdf
    assert b"Total incl. VAT: EUR 719.95" in pdf


def test_every_xref_offset_points_at_its_object(pdf):
    xref_at = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    offsets = re.findall(rb"(\d{10}) 00000 n", pdf[xref_at:])
    for number, offset in enumerate(offsets, start=1):
        assert pdf[int(offset) :].startswith(f"{number} 0 obj".encode())


def test_the_content_stream_length_is_exact(pdf):
    length = int(re.search(rb"/Length (\d+) >>\nstream\n", pdf).group(1))
    start = pdf.index(b"stream\n") + len(b"stream\n")
    assert pdf[start + length :].startswith(b"\nendstream")


def test_the_pdf_of_an_unknown_invoice_is_a_404(api):
    assert api.get("/invoices/1/pdf").status_code == 404


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_pdftoppm_renders_the_pdf(pdf, tmp_path):
    (tmp_path / "invoice.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", str(tmp_path / "invoice.pdf"), str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page*.png"))
