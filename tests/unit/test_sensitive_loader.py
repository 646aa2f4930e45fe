"""Every data file loads; a broken set reports all of its offenders at once."""

from __future__ import annotations

import shutil

import pytest

from detectors.sensitive import DataError, load_all
from detectors.sensitive.loader import DATA_DIR, load_divisions, load_recognizers, load_surnames
from detectors.sensitive.recognizers import CLASS_RECOGNIZERS


def test_packaged_data_loads_and_cross_checks():
    data = load_all(extra_entities=tuple(c.ENTITY for c in CLASS_RECOGNIZERS))
    assert len(data.recognizers) >= 15 and len(data.hints) >= 60
    names = [r.recognizer_name for r in data.recognizers]
    assert len(names) == len(set(names))
    assert "王" in data.surnames and "欧阳" in data.surnames
    assert (
        data.divisions.provinces["33"] == ("浙江", "浙江省")
        and data.divisions.cities["杭州"] == "33"
    )


def test_division_codes_are_the_resident_id_provinces():
    from detectors.sensitive.validators import CN_PROVINCE_CODES

    assert set(load_divisions().provinces) <= CN_PROVINCE_CODES


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    shutil.copytree(DATA_DIR, d)
    return d


def test_all_offenders_reported_at_once(data_dir):
    (data_dir / "recognizers.yaml").write_text(
        """
recognizers:
  - name: Broken
    entity: CN_MOBILE
    validator: no_such_check
    patterns:
      - {name: unclosed, regex: '(\\d+', score: 0.5}
      - {name: too_sure, regex: '\\d+', score: 1.7}
  - name: Broken
    entity: NOT_GRADED
    colour: red
    patterns:
      - {name: ok, regex: '\\d{4}', score: 0.5, group: 2}
  - name: Fine
    entity: ALSO_NOT_GRADED
    patterns:
      - {name: ok, regex: 'abc', score: 0.5}
""",
        encoding="utf-8",
    )
    (data_dir / "column_hints.yaml").write_text(
        """
hints:
  - entities: [CN_MOBILE]
    prior: 1.5
    names: [mobile]
  - entities: [EMAIL]
    prior: 0.9
    shape: colour
    names: [email]
  - entities: [UNKNOWN_ENTITY]
    prior: 0.9
    names: [mystery]
  - entities: [SALARY]
    prior: 0.9
    names: [mystery]
""",
        encoding="utf-8",
    )
    (data_dir / "cn_surnames.yaml").write_text(
        "surnames: {王: 7.1, Smith: 1, 李: -2}\n", encoding="utf-8"
    )
    (data_dir / "cn_divisions.yaml").write_text(
        "provinces: [1, 2\n", encoding="utf-8"
    )  # YAML syntax

    with pytest.raises(DataError) as err:
        load_all(data_dir=data_dir)
    offenders = err.value.offenders
    text = "\n".join(offenders)
    expected = [
        "recognizers.yaml: recognizer Broken: unknown validator 'no_such_check'",
        "recognizers.yaml: recognizer Broken: patterns[0]: pattern 'unclosed': invalid regex",
        "recognizers.yaml: recognizer Broken: patterns[1]: pattern 'too_sure': score 1.7 is not in [0, 1]",
        "recognizers.yaml: recognizer Broken: duplicate name",
        "recognizers.yaml: recognizer Broken: unknown fields ['colour']",
        "recognizers.yaml: recognizer Broken: patterns[0]: pattern 'ok': regex has no group 2",
        "recognizers.yaml: recognizer Fine: entity ALSO_NOT_GRADED is not graded in taxonomy.yaml",
        "column_hints.yaml: hints[0] (CN_MOBILE): prior 1.5 is not in (0, 1]",
        "column_hints.yaml: hints[1] (EMAIL): shape 'colour'",
        "column_hints.yaml: hints[3] (SALARY): name 'mystery' duplicates 'mystery' (UNKNOWN_ENTITY)",
        "cn_surnames.yaml: surname 'Smith' is not one or two Chinese characters",
        "cn_surnames.yaml: surname 李: frequency -2",
        "cn_divisions.yaml: line 2 invalid YAML",
    ]
    missing = [e for e in expected if not any(o.startswith(e) for o in offenders)]
    assert missing == [], text
    assert len(offenders) >= len(expected)
    assert str(err.value).startswith(f"{len(offenders)} problem(s)")


def test_hint_entities_are_cross_checked(data_dir):
    hints = (data_dir / "column_hints.yaml").read_text(encoding="utf-8")
    (data_dir / "column_hints.yaml").write_text(
        hints + "  - entities: [NOT_IN_TAXONOMY]\n    prior: 0.5\n    names: [zzz_unique]\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="column_hints.yaml: entity NOT_IN_TAXONOMY is not graded"):
        load_all(data_dir=data_dir)


def test_missing_file(data_dir):
    (data_dir / "taxonomy.yaml").unlink()
    with pytest.raises(DataError, match="taxonomy.yaml: file not found"):
        load_all(data_dir=data_dir)


def test_single_file_loaders(data_dir):
    assert load_recognizers(data_dir / "recognizers.yaml")
    assert load_surnames(str(data_dir / "cn_surnames.yaml"))["王"] > 7
    (data_dir / "recognizers.yaml").write_text("recognizers: {}\n", encoding="utf-8")
    with pytest.raises(DataError, match="expected a mapping with a 'recognizers' list"):
        load_recognizers(data_dir / "recognizers.yaml")
