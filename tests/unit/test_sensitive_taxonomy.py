"""Classification and grading as data, and a deployment override merged onto it."""

from __future__ import annotations

import pytest

from detectors.sensitive import DataError, Scanner, default_scanner, load_taxonomy
from detectors.sensitive.loader import TAXONOMY_OVERRIDE_ENV, load_hints
from detectors.sensitive.taxonomy import GB_LEVELS

TAX = load_taxonomy()


@pytest.mark.parametrize(
    "entity, gb, jr, personal, sensitive",
    [
        # REFERENCE.md (recalled): sensitive personal information → general-4, other personal → 2;
        # JR/T 0197: authentication data 4; ID, mobile, account numbers 3.
        ("CN_RESIDENT_ID", "general-4", 3, True, True),
        ("BANK_CARD", "general-4", 3, True, True),
        ("CN_MOBILE", "general-2", 3, True, False),
        ("EMAIL", "general-2", 3, True, False),
        ("PERSON_NAME", "general-2", 3, True, False),
        ("PASSWORD", "general-4", 4, True, True),
        ("CVV", "general-4", 4, True, True),
        ("API_KEY", "general-4", 4, False, False),
        ("HEALTH", "general-4", 3, True, True),
        ("IP_ADDRESS", "general-2", 2, True, False),
        ("CN_USCC", "general-2", 2, False, False),
    ],
)
def test_grades(entity, gb, jr, personal, sensitive):
    g = TAX.grade(entity)
    assert (g.gb_43697, g.jr_0197, g.personal, g.sensitive_personal) == (
        gb,
        jr,
        personal,
        sensitive,
    )


def test_every_entity_a_detector_can_report_is_graded():
    s = default_scanner()
    hinted = load_hints().entities - {"NON_SENSITIVE_ID"}
    assert (s.value_entities | hinted) - set(TAX.entities) == set()


def test_sensitive_personal_information_is_at_least_general_4():
    for e in TAX.entities:
        g = TAX.grade(e)
        if g.sensitive_personal:
            assert g.gb_rank >= 4 and g.personal, e


def test_unknown_entities_are_graded_high():
    g = TAX.grade("SOMETHING_NEW")
    assert g.gb_43697 == "general-4" and "default" in g.description


def test_max_grade():
    assert TAX.max_grade(["EMAIL", "CN_MOBILE"]).jr_0197 == 3
    assert TAX.max_grade(["EMAIL", "BANK_CARD", "IP_ADDRESS"]).entity == "BANK_CARD"
    assert (
        TAX.max_grade(["BANK_CARD", "PASSWORD"]).entity == "PASSWORD"
    )  # same GB level, higher JR/T
    assert TAX.max_grade([]) is None
    assert GB_LEVELS[-1] == "core"


OVERRIDE = """
entities:
  CN_MOBILE: {jr_0197: 4}
  CN_RESIDENT_ID: {gb_43697: important}
  EMPLOYEE_NO: {category: personal.basic, gb_43697: general-2, jr_0197: 2, personal: true, sensitive_personal: false}
"""


def test_deployment_override_merges_field_by_field(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text(OVERRIDE, encoding="utf-8")
    t = load_taxonomy(override=path)
    assert t.grade("CN_MOBILE").jr_0197 == 4 and t.grade("CN_MOBILE").gb_43697 == "general-2"
    assert t.grade("CN_RESIDENT_ID").gb_43697 == "important"
    assert t.grade("EMPLOYEE_NO").category == "personal.basic"
    assert t.grade("EMAIL") == TAX.grade("EMAIL")
    assert str(path) in t.sources


def test_override_through_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "deploy.yaml"
    path.write_text(OVERRIDE, encoding="utf-8")
    monkeypatch.setenv(TAXONOMY_OVERRIDE_ENV, str(path))
    assert load_taxonomy().grade("CN_MOBILE").jr_0197 == 4
    s = Scanner()
    assert s.scan_record({"mobile": "13812345678"}).grade.jr_0197 == 4


def test_bad_override_names_the_files_and_every_problem(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text(
        """
entities:
  CN_MOBILE: {jr_0197: 7}
  CN_RESIDENT_ID: {gb_43697: general-3}
  NEW_THING: {category: nowhere, gb_43697: secret, jr_0197: 2, personal: yes-ish, sensitive_personal: false}
""",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        load_taxonomy(override=path)
    text = str(err.value)
    assert "deploy.yaml" in text
    assert "CN_MOBILE: jr_0197 7" in text
    assert "CN_RESIDENT_ID: sensitive personal information graded general-3" in text
    assert "NEW_THING: gb_43697 'secret'" in text and "category 'nowhere'" in text
    assert "personal 'yes-ish'" in text
    assert len(err.value.offenders) == 5
