"""`riskcensus fix` on census Excel forms, checked by openpyxl: the rewritten workbook has the
original's sheets, cells, dropdowns, hidden rows and frozen panes; only the cells changes.csv
names differ."""
import csv

import openpyxl

from conftest import REPO, run_riskcensus

FORMS = sorted((REPO / "sample_data" / "returns").glob("*.xlsx"))


def sheet_state(ws):
    return {
        "freeze": ws.freeze_panes,
        "validations": sorted((dv.sqref.__str__(), dv.formula1) for dv in ws.data_validations.dataValidation),
        "hidden_rows": sorted(r for r, d in ws.row_dimensions.items() if d.hidden),
        "merged": sorted(str(m) for m in ws.merged_cells.ranges),
    }


def test_fixed_forms_keep_their_layout_and_change_only_listed_cells(tmp_path):
    assert len(FORMS) >= 10
    out = tmp_path / "fixed"
    result = run_riskcensus("fix", "--pipeline", "pipelines/baiyin-2021.toml", "-o", out, *FORMS)
    assert result.returncode == 0, result.stderr
    with open(out / "changes.csv", encoding="utf-8-sig") as f:
        changes = list(csv.DictReader(f))
    for form in FORMS:
        before = openpyxl.load_workbook(form)
        after = openpyxl.load_workbook(out / form.name)
        assert before.sheetnames == after.sheetnames, form.name
        listed = {int(c["row"]) for c in changes if c["file"].endswith(form.name)}
        for name in before.sheetnames:
            b, a = before[name], after[name]
            assert sheet_state(b) == sheet_state(a), (form.name, name)
            assert (b.max_row, b.max_column) == (a.max_row, a.max_column), (form.name, name)
            for row_b, row_a in zip(b.iter_rows(), a.iter_rows()):
                for cb, ca in zip(row_b, row_a):
                    if cb.value != ca.value:
                        assert cb.row in listed, (form.name, cb.coordinate, cb.value, ca.value)


def test_a_form_edited_in_openpyxl_is_fixed_in_the_changed_cell_only(tmp_path):
    """A form saved by openpyxl (a writer riskcensus did not shape) with full-width digits typed
    into a number cell: fix writes the half-width number there and nothing else changes."""
    form = REPO / "sample_data" / "returns" / "HB-PSF-07_体育场馆.xlsx"
    book = openpyxl.load_workbook(form)
    ws = book.worksheets[0]
    header_row = next(r for r in range(1, 10) if any(isinstance(c.value, str) and "名称" in c.value for c in ws[r]))
    # The first data row: not the hidden census-code row under the header.
    data_row = next(
        r for r in range(header_row + 1, ws.max_row + 1)
        if not ws.row_dimensions[r].hidden and isinstance(ws.cell(r, 1).value, str) and not ws.cell(r, 1).value.isascii()
    )
    column = next(
        c.column for c in ws[header_row]
        if isinstance(c.value, str) and "（" in c.value and isinstance(ws.cell(data_row, c.column).value, (int, float))
        and "经度" not in c.value and "纬度" not in c.value
    )
    number = ws.cell(data_row, column).value
    full_width = "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in str(number))
    ws.cell(data_row, column).value = full_width
    edited = tmp_path / "in" / form.name
    edited.parent.mkdir()
    book.save(edited)

    out = tmp_path / "fixed"
    result = run_riskcensus("fix", "--pipeline", "pipelines/baiyin-2021.toml", "-o", out, edited)
    assert result.returncode == 0, result.stderr
    with open(out / "changes.csv", encoding="utf-8-sig") as f:
        changes = list(csv.DictReader(f))
    assert [(c["row"], c["old"], c["new"], c["rule"]) for c in changes] == [
        (str(data_row), full_width, str(number), "cell.full_width")
    ]
    before = openpyxl.load_workbook(edited)[ws.title]
    after = openpyxl.load_workbook(out / form.name)[ws.title]
    assert sheet_state(before) == sheet_state(after)
    for row_b, row_a in zip(before.iter_rows(), after.iter_rows()):
        for cb, ca in zip(row_b, row_a):
            if (cb.row, cb.column) == (data_row, column):
                assert str(ca.value) == str(number)
            else:
                assert cb.value == ca.value, cb.coordinate
