"""POST /api/leads/import: column mapping, encodings and delimiters, per-row errors, whole-file rejections."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.csv_import import header_field
from leads.models import Lead, LeadList
from tests.factories import LeadFactory, LeadListFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _upload(api, content: bytes, status: int, **form: Any) -> dict[str, Any]:
    upload = SimpleUploadedFile("leads.csv", content, content_type="text/csv")
    response = api.post("/api/leads/import", {"file": upload, **form}, format="multipart")
    assert response.status_code == status, response.content
    return response.json()


def _nothing_written() -> None:
    assert Lead.objects.count() == 0 and LeadList.objects.count() == 0


@pytest.mark.parametrize(("header", "field"), [
    ("First Name", "firstName"), ("first_name", "firstName"), ("firstName", "firstName"), ("FIRSTNAME", "firstName"),
    ("Last Name", "lastName"), ("surname", "lastName"), ("E-mail", "email"), ("Email Address", "email"),
    ("Phone Number", "phone"), ("mobile", "phone"), ("Alt Phone 1", "altPhone1"), ("alternate_phone_2", "altPhone2"),
    ("altEmail3", "altEmail3"), ("Company", "companyName"), ("Company Name", "companyName"),
    ("Job Title", "jobTitle"), ("Position", "jobTitle"), ("role", "jobTitle"), ("Notes", "notes"),
    ("LinkedIn URL", None), ("Owner", None), ("Favourite colour", None),
])
def test_header_mapping(header, field) -> None:
    assert header_field(header) == field


def test_import_maps_columns_and_keeps_the_rest_as_custom_fields(api, workspace) -> None:
    csv_text = (
        "First Name,last_name,EMAIL,Phone Number,Alt Phone 1,Company,Position,Notes,LinkedIn URL,Owner,\n"
        'Ada,Lovelace,ADA@example.com,(202) 555-0140,+44 20 7946 0958,"Engines, Ltd",CTO,"line one\n'
        'line two",https://linkedin.com/in/ada,owner@example.com,\n'
    )
    body = _upload(api, csv_text.encode(), 201, listName="Expo")
    lead = Lead.objects.get()
    assert body == {"message": "Imported 1 leads (0 duplicates, 0 invalid rows skipped)", "savedCount": 1,
                    "duplicateCount": 0, "invalidCount": 0, "totalProcessed": 1, "listId": lead.list_id,
                    "listName": "Expo", "errors": [], "errorsTruncated": False}
    assert (lead.first_name, lead.last_name, lead.email, lead.phone, lead.alt_phone1) == (
        "Ada", "Lovelace", "ada@example.com", "+12025550140", "+442079460958")
    assert (lead.company_name, lead.job_title, lead.notes, lead.source) == (
        "Engines, Ltd", "CTO", "line one\nline two", "csv")
    assert lead.custom_fields == {"LinkedIn URL": "https://linkedin.com/in/ada", "Owner": "owner@example.com"}


def test_bad_rows_are_reported_by_spreadsheet_row(api, workspace) -> None:
    existing_list = LeadListFactory(workspace=workspace, name="Main")
    existing = LeadFactory(workspace=workspace, list=existing_list, phone="+12025550141")
    csv_text = (
        "name,phone,email\n"
        "Good One,+12025550142,\n"          # row 2
        "Bad Phone,12345,\n"                # row 3
        ",,\n"                              # row 4: blank, ignored
        "No Contact,,\n"                    # row 5
        "Bad Email,,not-an-email\n"         # row 6
        "Dup Existing,202-555-0141,\n"      # row 7
        "Dup In File,+12025550142,\n"       # row 8
    )
    body = _upload(api, csv_text.encode(), 201, listId=existing_list.pk)
    assert body["savedCount"] == 1 and body["duplicateCount"] == 2 and body["invalidCount"] == 3
    assert body["totalProcessed"] == 6
    assert body["errors"] == [
        {"row": 3, "error": "Invalid phone: '12345' is not a valid phone number"},
        {"row": 5, "error": "Lead must have a phone or an email"},
        {"row": 6, "error": "Invalid email: 'not-an-email' is not a valid email address"},
    ]
    good = Lead.objects.get(phone="+12025550142")
    assert (good.first_name, good.last_name) == ("Good", "One")
    assert Lead.objects.filter(list=existing_list).count() == 2 and Lead.objects.get(pk=existing.pk).first_name


@pytest.mark.parametrize(("content", "label"), [
    ("\ufefffirst name,phone\nZoë,+12025550143\n".encode(), "utf-8 BOM"),
    ("first name;phone;company\nZoë;+12025550143;A, B\n".encode(), "semicolons"),
    ("first name\tphone\nZoë\t+12025550143\n".encode("utf-16"), "utf-16 tab (Excel unicode text)"),
    ("first name,phone\r\nZoë,+12025550143\r\n".encode("cp1252"), "windows-1252, CRLF"),
    ('"first name","phone"\r"Zoë","+12025550143"\r'.encode(), "old Mac CR line ends, quoted header"),
    ("first name|phone\nZoë|+12025550143\n".encode(), "pipes"),
])
def test_encodings_and_delimiters(api, content, label) -> None:
    body = _upload(api, content, 201)
    assert body["savedCount"] == 1, label
    lead = Lead.objects.get()
    assert (lead.first_name, lead.phone) == ("Zoë", "+12025550143"), label


def test_default_country_code_and_source(api) -> None:
    _upload(api, b"phone\n020 7946 0958\n", 201, defaultCountryCode="+44", source="salesforce")
    lead = Lead.objects.get()
    assert (lead.phone, lead.source) == ("+442079460958", "salesforce")


@pytest.mark.parametrize(("content", "error"), [
    (b"", "CSV file is empty"),
    (b"\n\n", "CSV file is empty"),
    (b"phone,email\n", "CSV file has a header but no rows"),
    (b"first name,company\nAda,Engines\n", "CSV needs a phone or email column (e.g. 'Phone', 'Email')"),
    (("phone," + ",".join(f"c{i}" for i in range(200)) + "\n+12025550144\n").encode(),
     "CSV has 201 columns; at most 200 are supported"),
    (b'phone,notes\n+12025550144,"' + b"x" * 140_000 + b'"\n',
     "Could not parse CSV at row 2: field larger than field limit (131072)"),
])
def test_unreadable_files_are_400_and_write_nothing(api, content, error) -> None:
    body = _upload(api, content, 400, listName="Never")
    assert body["error"] == error and body["code"] == "INVALID_CSV"
    _nothing_written()


def test_a_file_with_only_invalid_rows_is_400_and_creates_no_list(api) -> None:
    body = _upload(api, b"phone\n123\nabc\n", 400, listName="Never")
    assert body == {"error": "No valid leads in the file: all 2 rows were invalid", "code": "INVALID_LEADS",
                    "invalidCount": 2, "errors": [
                        {"row": 2, "error": "Invalid phone: '123' is not a valid phone number"},
                        {"row": 3, "error": "Invalid phone: 'abc' is not a valid phone number"}]}
    _nothing_written()


def test_too_large_file_is_400_and_writes_nothing(api) -> None:
    big = b"phone,notes\n" + (b"+12025550145," + b"x" * 1000 + b"\n") * 10_400
    assert len(big) > 10 * 1024 * 1024
    assert _upload(api, big, 400) == {"error": "File too large: the maximum is 10 MB", "code": "FILE_TOO_LARGE"}
    _nothing_written()


def test_file_spooled_to_disk_imports_in_batches(api, workspace) -> None:
    # > 5 MB goes to a temporary file (FILE_UPLOAD_MAX_MEMORY_SIZE); 1,200 rows span three insert batches.
    rows = [f"+1202555{i:04d},{'n' * 4600}" for i in range(1200)] + ["+12025550000,dup"]
    content = ("phone,notes\n" + "\n".join(rows) + "\n").encode()
    assert len(content) > 5 * 1024 * 1024
    body = _upload(api, content, 201)
    assert (body["savedCount"], body["duplicateCount"], body["totalProcessed"]) == (1200, 1, 1201)
    assert Lead.objects.filter(workspace=workspace).count() == 1200


def test_all_duplicates_answer_200(api, workspace) -> None:
    _upload(api, b"phone\n+12025550146\n", 201)
    body = _upload(api, b"phone\n+1 (202) 555-0146\n", 200)
    assert (body["savedCount"], body["duplicateCount"]) == (0, 1)


@pytest.mark.parametrize(("form", "error", "code"), [
    ({"listId": "nope"}, "Invalid listId", "INVALID_ID"),
    ({"defaultCountryCode": "+0"}, "Invalid defaultCountryCode: use a calling code like +1 or +44",
     "INVALID_COUNTRY_CODE"),
])
def test_bad_form_fields(api, form, error, code) -> None:
    assert _upload(api, b"phone\n+12025550147\n", 400, **form) == {"error": error, "code": code}
    _nothing_written()


def test_unknown_or_foreign_list_is_404(api) -> None:
    foreign = LeadListFactory(workspace=WorkspaceFactory())
    for list_id in (foreign.pk, "667f1f77bcf86cd799439012"):
        assert _upload(api, b"phone\n+12025550147\n", 404, listId=list_id) == {
            "error": "List not found", "code": "LIST_NOT_FOUND"}
    assert Lead.objects.count() == 0


def test_missing_file_and_wrong_content_type(api) -> None:
    response = api.post("/api/leads/import", {"listName": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"error": 'file is required (multipart field "file")', "code": "VALIDATION_ERROR"}
    response = api.post("/api/leads/import", {"file": "phone\n+12025550147"}, format="json")
    assert response.status_code == 415
    _nothing_written()


def test_any_single_file_field_name_is_accepted(api) -> None:
    upload = SimpleUploadedFile("x.csv", b"phone\n+12025550148\n")
    response = api.post("/api/leads/import", {"csv": upload}, format="multipart")
    assert response.status_code == 201 and Lead.objects.count() == 1


def test_service_reads_a_plain_binary_file(workspace) -> None:
    from leads.csv_import import csv_import

    progress: list[tuple[int, int]] = []
    result = csv_import(workspace=workspace, file=io.BytesIO(b"email\na@b.co\nA@B.CO\n"),
                        list_name="Svc", on_progress=lambda done, total: progress.append((done, total)))
    assert (result.saved, result.duplicates, result.total) == (1, 1, 2)
    assert progress[-1] == (2, 2) and result.lead_list is not None and result.lead_list.name == "Svc"
