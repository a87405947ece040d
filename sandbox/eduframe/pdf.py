"""A minimal, valid one-page PDF 1.4 writer (Helvetica, WinAnsi) for invoice PDFs, without dependencies."""

from __future__ import annotations

from sandbox.eduframe.money import line_total, money

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
LEFT, TOP, LEADING = 56, 790, 16


def escape(text: str) -> bytes:
    """Encode for a PDF string literal: WinAnsi (cp1252) bytes, with \\, ( and ) escaped."""
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def content_stream(lines: list[tuple[int, str]]) -> bytes:
    """Text operators for (font size, text) lines, top to bottom."""
    parts = [b"BT", f"{LEFT} {TOP} Td".encode()]
    for size, text in lines:
        parts.append(f"/F1 {size} Tf 0 -{LEADING} Td".encode())
        parts.append(b"(" + escape(text) + b") Tj")
    parts.append(b"ET")
    return b"\n".join(parts)


def build_pdf(lines: list[tuple[int, str]], title: str = "") -> bytes:
    """Assemble the objects, a byte-exact xref table and the trailer."""
    stream = content_stream(lines)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] ".encode()
        + b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
        b"<< /Title (" + escape(title) + b") /Producer (Eduframe sandbox) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


def invoice_lines(invoice: dict, educator_name: str, percentages: dict[int, str]) -> list[tuple[int, str]]:
    number = invoice["number"] or "Concept"
    lines = [(18, educator_name), (14, f"Invoice {number}"), (10, f"To: {invoice['account_name']}")]
    lines += [(10, f"Date: {invoice['opened_at'] or '-'}   Due: {invoice['expiration_date'] or '-'}")]
    lines += [(10, f"Reference: {invoice['reference_id']}   Feature: {invoice['feature'] or '-'}"), (10, "")]
    for item in invoice["invoice_items"]:
        pct = percentages.get(item["invoice_vat_id"], "0")
        amount = money(line_total(item["units"], item["unit_price"]))
        lines.append((10, f"{item['units']} x {item['name']} @ {item['unit_price']} = {amount} ({pct}% VAT)"))
    lines += [(10, ""), (10, f"Total excl. VAT: {invoice['currency']} {invoice['total_excl']}")]
    lines += [(10, f"Total incl. VAT: {invoice['currency']} {invoice['total_incl']}")]
    return lines


def invoice_pdf(invoice: dict, educator_name: str, percentages: dict[int, str]) -> bytes:
    """The invoice as a PDF showing its number, account name, lines and totals (from API-shaped JSON)."""
    title = f"Invoice {invoice['number'] or invoice['id']}"
    return build_pdf(invoice_lines(invoice, educator_name, percentages), title=title)
