"""manage.py import_leads: the same service as the upload endpoint, a JSON report, a progress bar on stderr."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import Lead, LeadList

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_leads", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text("First Name,Phone,Email,Industry\n"
                    "Ada,(202) 555-0150,,Tech\n"
                    "Bad,555,,\n"
                    "Ada again,+12025550150,,\n"
                    "Bo,,bo@example.com,Retail\n", encoding="utf-8")
    return path


def test_json_report(workspace, csv_file, capsys) -> None:
    out, _ = _run(str(csv_file), "--workspace", workspace.pk, "--list", "Imported", "--json")
    report = json.loads(out)
    lead_list = LeadList.objects.get(workspace=workspace, name="Imported")
    assert report == {"listId": lead_list.pk, "listName": "Imported", "savedCount": 2, "duplicateCount": 1,
                      "invalidCount": 1, "totalProcessed": 4,
                      "errors": [{"row": 3, "error": "Invalid phone: '555' is not a valid phone number"}]}
    ada = Lead.objects.get(phone="+12025550150")
    assert ada.custom_fields == {"Industry": "Tech"} and ada.source == "csv"
    assert "import" in capsys.readouterr().err  # tqdm draws on the process's stderr


def test_human_report_and_quick_sends_default(workspace, csv_file) -> None:
    out, _ = _run(str(csv_file), "--workspace", workspace.pk)
    assert out.splitlines()[0].startswith("4 rows: 2 saved, 1 duplicates, 1 invalid → list Quick Sends (")
    assert "row 3: Invalid phone: '555' is not a valid phone number" in out
    assert LeadList.objects.get(workspace=workspace).description == "Quick send messages"


def test_default_country_code(workspace, tmp_path) -> None:
    path = tmp_path / "uk.csv"
    path.write_text("phone\n020 7946 0958\n")
    _run(str(path), "--workspace", workspace.pk, "--default-country-code", "+44")
    assert Lead.objects.get().phone == "+442079460958"


def test_errors(workspace, tmp_path, csv_file) -> None:
    with pytest.raises(CommandError, match="workspace 'nope' not found"):
        _run(str(csv_file), "--workspace", "nope")
    with pytest.raises(CommandError, match="cannot read"):
        _run(str(tmp_path / "missing.csv"), "--workspace", workspace.pk)
    with pytest.raises(CommandError, match="Invalid defaultCountryCode"):
        _run(str(csv_file), "--workspace", workspace.pk, "--default-country-code", "Mars")
    no_contact = tmp_path / "names.csv"
    no_contact.write_text("name\nAda\n")
    out = StringIO()
    with pytest.raises(CommandError, match="CSV needs a phone or email column"):
        call_command("import_leads", str(no_contact), "--workspace", workspace.pk, "--json", stdout=out)
    assert json.loads(out.getvalue())["code"] == "INVALID_CSV"
    big = tmp_path / "big.csv"
    big.write_bytes(b"phone\n" + b"+12025550151\n" * 900_000)
    with pytest.raises(CommandError, match="File too large"):
        _run(str(big), "--workspace", workspace.pk)
    assert Lead.objects.count() == 0 and LeadList.objects.count() == 0
