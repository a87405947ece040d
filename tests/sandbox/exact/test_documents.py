"""`documents/Documents` and `documents/DocumentAttachments` [notes 5.5, section 9 items 47-49]."""

from __future__ import annotations

import base64

import httpx

from .helpers import create_customer, entry_body, error_text, gl_id, line

PDF = b"%PDF-1.7\n fake invoice \n%%EOF"


def _document(api, **fields) -> dict:
    response = api.post("documents/Documents", json={"Subject": "Invoice EDU-1", "Type": 10, **fields})
    assert response.status_code == 201, response.text
    return response.json()["d"]


def _attach(api, document_id: str, content: bytes = PDF) -> httpx.Response:
    body = {"Document": document_id, "FileName": "EDU-1.pdf", "Attachment": base64.b64encode(content).decode()}
    return api.post("documents/DocumentAttachments", json=body)


def test_a_document_needs_a_subject_and_a_type_and_gets_a_sequential_hid(api):
    first, second = _document(api), _document(api)
    assert first["TypeDescription"] == "Sales invoice"
    assert second["HID"] == first["HID"] + 1
    response = api.post("documents/Documents", json={})
    assert error_text(response) == "Verplicht: Onderwerp\r\nVerplicht: Type"


def test_an_attachment_answers_null_content_with_size_and_a_url_that_downloads_the_bytes(api, tokens):
    attachment = _attach(api, _document(api)["ID"]).json()["d"]
    assert attachment["Attachment"] is None
    assert attachment["FileSize"] == len(PDF)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    downloaded = httpx.get(attachment["Url"] + "&Download=1", headers=auth)
    assert downloaded.content == PDF
    assert downloaded.headers["Content-Type"] == "application/pdf"
    assert httpx.get(attachment["Url"] + "&Download=1").status_code == 401


def test_an_attachment_needs_valid_base64_an_existing_document_and_a_file_name(api):
    document = _document(api)
    bad = {"Document": document["ID"], "FileName": "x.pdf", "Attachment": "not base64!"}
    assert api.post("documents/DocumentAttachments", json=bad).status_code == 400
    orphan = _attach(api, "00000000-0000-0000-0000-000000000000")
    assert error_text(orphan) == "Ongeldige referentie: Document"
    nameless = {"Document": document["ID"], "Attachment": base64.b64encode(PDF).decode()}
    assert error_text(api.post("documents/DocumentAttachments", json=nameless)) == "Verplicht: Bestandsnaam"


def test_attachments_cannot_be_updated_but_can_be_deleted(api):
    attachment = _attach(api, _document(api)["ID"]).json()["d"]
    key = f"documents/DocumentAttachments(guid'{attachment['ID']}')"
    assert api.put(key, json={"FileName": "y.pdf"}).status_code == 405
    assert api.delete(key).status_code == 204


def test_an_attachment_over_10_mb_is_refused(api, state):
    state.max_post_bytes = 1000  # same rule as 10 MB, without sending 10 MB
    response = _attach(api, _document(api)["ID"], b"x" * 1001)
    assert response.status_code == 413


def test_a_sales_entry_must_reference_an_existing_document(api, state):
    customer = create_customer(api)
    missing = entry_body(customer["ID"], line(gl_id(state, "8000"), 1), Document="00000000-0000-0000-0000-000000000001")
    assert error_text(api.post("salesentry/SalesEntries", json=missing)) == "Ongeldige referentie: Document"
    document = _document(api)
    linked = entry_body(customer["ID"], line(gl_id(state, "8000"), 1), Document=document["ID"])
    entry = api.post("salesentry/SalesEntries", json=linked).json()["d"]
    assert (entry["Document"], entry["DocumentSubject"]) == (document["ID"], "Invoice EDU-1")
